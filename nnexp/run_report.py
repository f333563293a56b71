"""report.md of one run (placeholder until the report module lands)."""


def write_report(out_dir, summary, dataset, net):
    return None
