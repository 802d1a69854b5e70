"""Printable posters: the code on them decodes, Chinese is really drawn, the PDF is the same
picture at the paper's size, and without a CJK font there is a clear message, not tofu."""

import io
import re
import struct
import zlib

import pytest
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image, ImageFont

from tapgo.core.images import image_store
from tapgo.miniapps import posters, services
from tapgo.miniapps.models import EntryCode


@pytest.fixture(autouse=True)
def _fresh_fonts():
    posters._discover.cache_clear()
    yield
    posters._discover.cache_clear()


@pytest.fixture
def latin_only_font(tmp_path, settings):
    """A font without Chinese glyphs (Pillow's own Aileron), set as the poster font."""
    path = tmp_path / "aileron.otf"
    path.write_bytes(ImageFont.load_default(20).font_bytes)
    settings.POSTER_FONT = str(path)
    return path


def decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


def test_a_cjk_font_is_found_and_has_the_glyphs():
    found = posters.fonts()
    assert found is not None, posters.unavailable_message()
    regular, bold = found
    for font_file in (regular, bold):
        font = ImageFont.truetype(font_file.path, 64, index=font_file.index)
        assert posters.missing_glyphs(font, "扫码点单 港湾咖啡 燕麦拿铁 Scan to order") == []


def test_the_glyph_check_sees_a_font_without_chinese():
    """The control: a Latin font draws its missing-glyph box for 扫 (or nothing)."""
    latin = ImageFont.load_default(64)
    assert posters.missing_glyphs(latin, "Scan") == []
    assert posters.missing_glyphs(latin, "扫码 to order") == ["扫", "码"]


@pytest.mark.parametrize("size", ["a4", "tent"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_poster_png_decodes_to_the_codes_url(app, size, language):
    entry = app.codes.get(kind="table", table_label="2")
    data = posters.png(entry, size=size, language=language)
    image = Image.open(io.BytesIO(data))
    assert image.size == posters.pixels(size) == {"a4": (2480, 3508), "tent": (1181, 1772)}[size]
    assert tuple(round(d) for d in image.info["dpi"]) == (300, 300)
    assert decoded(image) == [services.code_url(entry)]


def test_a_chinese_name_is_drawn_not_tofu(app):
    """The app's name in Chinese on the band: the font used has every glyph of it, and the
    band is drawn differently for two different names (the glyphs are really there)."""
    regular, bold = posters.fonts()
    font = ImageFont.truetype(bold.path, 64, index=bold.index)
    assert posters.missing_glyphs(font, "港湾咖啡馆") == []
    entry = app.codes.get(kind="store")
    bands = []
    for name in ("港湾咖啡馆", "港湾茶餐厅"):
        app.name = name
        image = posters.render(entry, size="tent", language="zh-hans")
        top = image.crop((0, 0, image.width, image.height // 6))
        bands.append(top.tobytes())
        # Text in the band: pixels other than the brand colour.
        colours = top.getcolors(maxcolors=1 << 16)
        assert colours is not None and len(colours) > 2
    assert bands[0] != bands[1]


def test_the_label_says_what_the_code_is_for(app, product):
    table = app.codes.get(kind="table", table_label="3")
    item = services.code_create(app=app, kind="product", product_public_id=product.public_id)
    flyer = services.code_create(app=app, kind="campaign", scene_param="f", name="Spring flyer")
    with translation.override("en"):
        assert posters.label_of(table) == "Table 3"
        assert posters.label_of(item) == "Latte"
        assert posters.label_of(flyer) == "Spring flyer"
        assert posters.label_of(app.codes.get(kind="store")) == ""


def test_the_logo_is_on_the_poster(app):
    logo = io.BytesIO()
    Image.new("RGB", (200, 200), (250, 200, 0)).save(logo, format="PNG")
    app.logo = image_store(
        SimpleUploadedFile("logo.png", logo.getvalue(), content_type="image/png"), folder="t"
    )["thumb"]
    entry = app.codes.get(kind="store")
    image = posters.render(entry, size="a4", language="en")
    # The logo sits centred at the top of the band.
    unit = image.width / 100
    x, y = image.width // 2, int(6 * unit + 11 * unit)
    r, g, b = image.getpixel((x, y))
    assert r > 230 and 180 < g < 220 and b < 30
    app.logo = ""
    plain = posters.render(entry, size="a4", language="en")
    assert plain.getpixel((x, y)) != (r, g, b)
    app.logo = "missing/file.webp"  # a logo that cannot be read is left out, no error
    assert decoded(posters.render(entry, size="tent", language="en")) == [services.code_url(entry)]


def test_long_names_fit(app):
    app.name = "The Very Long Name of a Harbour Café That Goes On and On Forever"
    entry = app.codes.get(kind="store")
    image = posters.render(entry, size="tent", language="en")
    assert decoded(image) == [services.code_url(entry)]


def _pdf_objects(data: bytes) -> dict[int, bytes]:
    """The PDF's objects by number, each found at the offset its xref entry gives."""
    xref_at = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data)[1])
    assert data[xref_at:].startswith(b"xref\n0 ")
    count = int(re.match(rb"xref\n0 (\d+)\n", data[xref_at:])[1])
    table = data[xref_at:].split(b"\n")[2 : 2 + count]
    objects = {}
    for number, row in enumerate(table[1:], start=1):
        offset = int(row[:10])
        assert data[offset:].startswith(f"{number} 0 obj\n".encode()), number
        end = data.index(b"\nendobj\n", offset)
        objects[number] = data[offset:end]
    return objects


@pytest.mark.parametrize("size", ["a4", "tent"])
def test_the_pdf_is_the_same_picture_on_the_papers_size(app, size):
    entry = app.codes.get(kind="table", table_label="1")
    pdf = posters.pdf(entry, size=size, language="zh-hans")
    png = posters.png(entry, size=size, language="zh-hans")
    assert pdf.startswith(b"%PDF-1.4\n")
    objects = _pdf_objects(pdf)
    width_mm, height_mm = posters.SIZES[size]
    media = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", objects[3])
    assert float(media[1]) == pytest.approx(width_mm / 25.4 * 72, abs=0.01)
    assert float(media[2]) == pytest.approx(height_mm / 25.4 * 72, abs=0.01)
    assert f"/URI ({services.code_url(entry)})".encode() in objects[3]
    # The image's data, put back into a PNG, is the poster, pixel for pixel.
    header, stream = objects[4].split(b"\nstream\n", 1)
    width = int(re.search(rb"/Width (\d+)", header)[1])
    height = int(re.search(rb"/Height (\d+)", header)[1])
    length = int(re.search(rb"/Length (\d+)", header)[1])
    rows = stream[:length]
    assert stream[length:] == b"\nendstream"
    assert len(zlib.decompress(rows)) == height * (1 + 3 * width)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rebuilt = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )
    from_pdf = Image.open(io.BytesIO(rebuilt))
    assert from_pdf.tobytes() == Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    assert decoded(from_pdf) == [services.code_url(entry)]


def test_bad_requests_are_refused(app):
    entry = app.codes.get(kind="store")
    with pytest.raises(posters.PosterError):
        posters.png(entry, size="a3", language="en")
    with pytest.raises(posters.PosterError):
        posters.pdf(entry, size="a4", language="fr")


def test_without_a_cjk_font_there_is_a_message_not_tofu(app, latin_only_font, settings):
    assert posters.fonts() is None
    assert not posters.available()
    entry = app.codes.get(kind="store")
    with pytest.raises(posters.PosterUnavailable, match="fonts-noto-cjk"):
        posters.png(entry, size="a4", language="en")
    settings.POSTER_FONT = str(latin_only_font.parent / "no-such-font.ttf")
    assert posters.fonts() is None


def test_the_setting_picks_a_font_face_of_a_collection(app, settings):
    regular, _bold = posters.fonts()
    settings.POSTER_FONT = f"{regular.path}#{regular.index}"
    assert posters.fonts() == (regular, regular)
    entry = app.codes.get(kind=EntryCode.Kind.STORE)
    assert decoded(posters.render(entry, size="tent", language="zh-hans")) == [
        services.code_url(entry)
    ]
