"""The README's pictures of sweep reports: rebuild each sweep folder's report, open its
report.html in headless Chromium (Debian's chromium and chromedriver, through
selenium), take the top of the page and save it small.

    python docs/screenshots.py SWEEP_DIR OUT.png [SWEEP_DIR OUT.png ...]

docs/report_180_jobs.png came from
    nnexp -m dataset=circles dataset.val_fraction=0.25 optimizer=adam loss=bce \\
        'model.hidden=[8]' activation=tanh 'lr=0.0003,0.0006,0.001,0.002,0.003,0.005,0.01,
        0.02,0.03,0.05,0.1,0.2,0.3,0.5,1,2,3,5' 'seed=range(10)' epochs=300 \\
        hydra/launcher=batched
and docs/report_optuna.png from
    nnexp -m hparams_search=circles_optuna hydra.sweeper.n_trials=30
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

WIDTH, HEIGHT, SHOWN = 1200, 1500, 760  # browser window, and the saved picture's width


def shoot(sweep_dir: Path, out: Path) -> None:
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from nnexp.sweep import report

    report.build(sweep_dir)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get((Path(sweep_dir) / "report.html").resolve().as_uri())
        picture = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    finally:
        driver.quit()
    picture = picture.resize((SHOWN, round(picture.height * SHOWN / picture.width)), Image.LANCZOS)
    picture.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
    print(f"{out}: {out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit(__doc__)
    for folder, name in zip(args[::2], args[1::2]):
        shoot(Path(folder), Path(name))
