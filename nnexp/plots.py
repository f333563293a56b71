"""Figures of a run (placeholder until the plotting module lands)."""


def run_plots(out_dir, metrics, dataset, net, params):
    return []
