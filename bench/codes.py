"""Entry-code images: QR PNGs per second and poster render times, written to
bench/results.json under "codes".

    uv run python bench/codes.py             # about 40 seconds
    uv run python bench/codes.py --quick     # about 15 seconds
    uv run python bench/run.py               # runs this too, after the page benchmarks

In one process, with no database (the images need none): a café app with a Chinese and
English name and a logo (stored through the same upload path a merchant uses), codes with
random ids of the length a real code has. Measured:

  1. QR code PNGs per second, for each download size (256, 1024, 2048 px: screen, print,
     poster): miniapps.services.code_png, i.e. encoding the URL, drawing the 1-bit image at
     whole pixels per module and writing the PNG; and SVGs per second for comparison;
  2. poster render time, A4 and table tent, PNG and PDF (miniapps/posters.py): the median and
     the slowest of N renders after one warm-up (which loads the fonts), with the file size.

A benchmark, not a test: it never fails on a slow figure; it exits non-zero only when
something did not work (a poster whose code does not decode to its URL).
"""

import io
import os
import statistics
import sys
import tempfile
import time

import common


def fixtures():
    """An app with a logo and a table code, in memory (nothing here touches the database)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image, ImageDraw

    from tapgo.core.ids import new_public_id
    from tapgo.core.images import image_store
    from tapgo.miniapps.models import EntryCode, MiniApp

    logo = Image.new("RGB", (600, 600), (15, 118, 110))
    ImageDraw.Draw(logo).ellipse((100, 100, 500, 500), fill=(250, 200, 0))
    data = io.BytesIO()
    logo.save(data, format="PNG")
    stored = image_store(
        SimpleUploadedFile("logo.png", data.getvalue(), content_type="image/png"), folder="bench"
    )
    app = MiniApp(name="Harbour Café 港湾咖啡", slug="harbour-cafe", logo=stored["thumb"])
    entry = EntryCode(code=new_public_id(10), kind="table", table_label="12")
    entry.app = app
    return app, entry


def codes_per_second(make, seconds: float) -> tuple[float, int]:
    """(calls per second, bytes of the last) for `make(code)` with fresh random codes (so
    the symbol is made every time, never taken from the service's cache)."""
    from tapgo.core.ids import new_public_id
    from tapgo.miniapps.models import EntryCode

    entry = EntryCode(kind="store")
    count, size = 0, 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        entry.code = new_public_id(10)
        size = len(make(entry))
        count += 1
    return count / (time.perf_counter() - started), size


def bench_qr(seconds: float) -> dict:
    from tapgo.miniapps import services

    out = {}
    for size in services.PNG_SIZES:
        services.code_png(_warm_entry(), size=size)
        rate, nbytes = codes_per_second(lambda e, s=size: services.code_png(e, size=s), seconds)
        out[f"png_{size}"] = {"per_second": round(rate, 1), "bytes": nbytes}
        print(f"  QR PNG {size:>4} px   {rate:8.1f} /s   {nbytes:>6} B", flush=True)
    rate, nbytes = codes_per_second(lambda e: services.code_svg(e, scale=10), seconds)
    out["svg"] = {"per_second": round(rate, 1), "bytes": nbytes}
    print(f"  QR SVG           {rate:8.1f} /s   {nbytes:>6} B", flush=True)
    return out


def _warm_entry():
    from tapgo.miniapps.models import EntryCode

    return EntryCode(kind="store", code="warmwarmwa")


def bench_posters(entry, runs: int) -> tuple[dict, bool]:
    import zxingcpp
    from PIL import Image

    from tapgo.miniapps import posters, services

    if not posters.available():
        print("  posters: " + posters.unavailable_message(), flush=True)
        return {"available": False}, True
    out: dict = {"available": True, "font": [f.path for f in posters.fonts()]}
    ok = True
    started = time.perf_counter()
    posters.png(entry, size="a4", language="zh-hans")  # loads the fonts
    out["first_render_ms"] = round((time.perf_counter() - started) * 1000, 1)
    for size in posters.SIZES:
        for fmt in posters.FORMATS:
            make = posters.pdf if fmt == "pdf" else posters.png
            times, data = [], b""
            for _ in range(runs):
                started = time.perf_counter()
                data = make(entry, size=size, language="zh-hans")
                times.append((time.perf_counter() - started) * 1000)
            row = {
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                "bytes": len(data),
                "runs": runs,
                "pixels": list(posters.pixels(size)),
            }
            if fmt == "png":
                found = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)).convert("L"))
                row["decodes"] = [r.text for r in found] == [services.code_url(entry)]
                ok = ok and row["decodes"]
            out[f"{size}_{fmt}"] = row
            print(
                f"  poster {size:<4} {fmt.upper()}  median {row['median_ms']:7.1f} ms  "
                f"max {row['max_ms']:7.1f} ms  {len(data):>8} B"
                + ("" if row.get("decodes", True) else "  DOES NOT DECODE"),
                flush=True,
            )
    return out, ok


def main(argv=None) -> int:
    parser = common.arguments(__doc__, databases=False)
    parser.add_argument("--quick", action="store_true", help="1 s per QR size, 3 posters each")
    parser.add_argument("--seconds", type=float, help="seconds per QR size (4; quick 1)")
    parser.add_argument("--runs", type=int, help="renders per poster kind (7; quick 3)")
    opts = parser.parse_args(argv)
    seconds = opts.seconds or (1.0 if opts.quick else 4.0)
    runs = opts.runs or (3 if opts.quick else 7)
    figures = common.start_figures("codes.py", argv)
    with tempfile.TemporaryDirectory(prefix="tapgo-bench-codes-") as var_dir:
        os.environ["TAPGO_VAR_DIR"] = var_dir
        common.setup_django()
        _app, entry = fixtures()
        print("== codes (in-process, no database)", flush=True)
        qr = bench_qr(seconds)
        poster, ok = bench_posters(entry, runs)
    common.end_figures(figures)
    figures["versions"] = common.versions("pillow", "segno")
    figures["settings"] = {"qr_seconds_per_size": seconds, "poster_runs": runs}
    figures["qr"], figures["posters"] = qr, poster
    common.save(opts.out, "codes", figures)
    if not ok:
        print("A poster's code did not decode to its URL.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
