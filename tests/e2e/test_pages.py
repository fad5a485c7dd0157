"""Every page in a real browser: opens by direct link, draws charts, survives slider moves.

Set LMVIZ_SCREENSHOTS=docs/screenshots to refresh the README's screenshots from these tests.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import numpy as np
import pytest
import torch
from PIL import Image
from playwright.sync_api import Locator, expect

from lmviz.presets import CORPUS_PROMPTS, DEFAULT_PROMPT
from tests.e2e.browser import (
    SLIDER,
    assert_no_exception,
    count_charts,
    expect_rerun,
    find_slider,
    go_to,
    move_slider,
    open_app,
    screenshot,
    track_runs,
    wait_for_charts,
)

# attention first: on a fresh server the first visit is a direct link to a page that is not "/"
PAGES = ["attention", "", "tokenization", "embeddings", "lstm", "compare", "sampling", "training"]
MAIN_SLIDER = f'[data-testid="stMain"] {SLIDER} [data-testid="stWidgetLabel"]'


def settled_picture(element: Locator, timeout_s: float = 20) -> np.ndarray:
    """The element's picture in grey levels once it has ink and two shots in a row agree (WebGL
    draws after Plotly reports the chart drawn)."""
    deadline = time.monotonic() + timeout_s
    previous = None
    while time.monotonic() < deadline:
        picture = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("L"))
        if previous is not None and np.array_equal(picture, previous) and (picture < 200).any():
            return picture
        previous = picture
    raise AssertionError(f"the picture kept changing for {timeout_s} s")


def shot(page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("LMVIZ_SCREENSHOTS", tmp_path))
    path = screenshot(page, folder / f"{name or 'home'}.png")
    assert path.stat().st_size > 10_000  # a real picture, not a blank page


@pytest.mark.parametrize("path", PAGES)
def test_page_opens_draws_and_takes_a_slider(page, app_server, path, tmp_path) -> None:
    open_app(page, f"{app_server}/{path}")
    assert_no_exception(page)
    # app.py ran around the page (a direct link used to run the page file alone)
    assert page.get_by_test_id("stSidebar").get_by_text("Hidden size", exact=True).count() == 1
    assert page.locator("h1").count() >= 1
    assert wait_for_charts(page, 1) >= 1  # the training page: the shipped default run
    shot(page, path, tmp_path)
    labels = page.locator(MAIN_SLIDER).all_inner_texts()
    if labels:
        handle = find_slider(page, labels[0]).locator('input[type="range"]')
        before = handle.input_value()
        at_end = before == handle.get_attribute("max")
        move_slider(page, labels[0], 2, "ArrowLeft" if at_end else "ArrowRight")
        after = find_slider(page, labels[0]).locator('input[type="range"]').input_value()
        assert after != before, f"{labels[0]!r} did not move"
        assert_no_exception(page)


def test_temperature_link_slider_and_url(page, app_server) -> None:
    open_app(page, f"{app_server}/sampling?temperature=0.3")
    handle = find_slider(page, "Temperature").locator('input[type="range"]')
    assert float(handle.input_value()) == pytest.approx(0.3)
    charts = wait_for_charts(page, 1)
    value = move_slider(page, "Temperature", 2)
    assert float(value) == pytest.approx(0.4)
    assert_no_exception(page)
    assert count_charts(page) >= charts
    assert parse_qs(urlparse(page.url).query)["temperature"] == ["0.4"]
    # the settings rerun a fragment: the link shown next to them follows, and the sidebar has none
    link = page.locator('[data-testid="stMain"] [data-testid="stCode"]').first.inner_text()
    assert parse_qs(urlparse(link.strip()).query)["temperature"] == ["0.4"]
    assert page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').count() == 0
    # the comparison is its own fragment: it keeps its settings until asked to generate again
    said = page.get_by_text("Each model continues the prompt", exact=False)
    assert "here at T = 0.3," in said.inner_text()
    with expect_rerun(page):
        page.get_by_role("button", name="Generate again with the settings above").click()
    assert "here at T = 0.4," in said.inner_text() and "draw 1 (draw=1 in the link)" in said.inner_text()
    assert_no_exception(page)
    # the draw is in the address and in the link shown with the settings (another fragment)
    link = page.locator('[data-testid="stMain"] [data-testid="stCode"]').first.inner_text()
    assert parse_qs(urlparse(page.url).query)["draw"] == parse_qs(urlparse(link.strip()).query)["draw"] == ["1"]


def test_a_link_s_note_on_temperature_goes_when_the_slider_moves(page, app_server) -> None:
    """The Temperature reruns only its fragment; the note above the page, about the link's
    Temperature, stayed until some other control reran the page."""
    open_app(page, f"{app_server}/sampling?temperature=7")
    note = page.locator('[data-testid="stAlert"]').filter(has_text="Ignored temperature=")
    expect(note).to_have_count(1)
    move_slider(page, "Temperature", 1)
    expect(note).to_have_count(0)  # waits (polling) for the page's rerun
    assert_no_exception(page)
    assert parse_qs(urlparse(page.url).query)["temperature"] == ["1.05"]


def test_stepper_samples_with_the_settings_of_its_click(page, app_server) -> None:
    """The stepper is its own fragment: a settings move leaves it alone; its next click samples
    the whole text again with the settings as they are then, and says so."""
    open_app(page, f"{app_server}/sampling?temperature=0")
    next_token = page.get_by_role("button", name="Next token")
    for _ in range(2):
        with expect_rerun(page):
            next_token.click()
    said = page.get_by_text("Sampled by the LSTM at", exact=False)
    assert said.inner_text().startswith("Sampled by the LSTM at T = 0, top-k off")
    stepped = page.locator(".lmviz-generation").last
    assert stepped.locator("span[title]").count() == 2  # two picks, each with its p and rank
    move_slider(page, "Temperature", 30)  # to 1.5
    assert said.inner_text().startswith("Sampled by the LSTM at T = 0,")  # not rerun by the move
    with expect_rerun(page):
        next_token.click()
    assert said.inner_text().startswith("Sampled by the LSTM at T = 1.5,")
    assert stepped.locator("span[title]").count() == 3
    assert_no_exception(page)


def test_hidden_size_moves_on_training_page(page, app_server) -> None:
    open_app(page, f"{app_server}/training")
    value = move_slider(page, "Hidden size", 1, "ArrowLeft")
    assert value == "64"
    assert parse_qs(urlparse(page.url).query)["hidden_size"] == ["64"]
    assert_no_exception(page)
    plan = page.get_by_text("This trains:", exact=False).inner_text()  # what Train will train
    assert "hidden size 64" in plan


def test_hidden_size_retrains_and_redraws_home(page, app_server) -> None:
    open_app(page, f"{app_server}/?steps=40&hidden_size=32")
    assert_no_exception(page)
    assert wait_for_charts(page, 1) == 1
    move_slider(page, "Hidden size", 1, "ArrowLeft", timeout_ms=180_000)
    assert_no_exception(page)
    assert wait_for_charts(page, 1) == 1
    assert page.get_by_text("hidden size 16", exact=False).count() >= 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU trains an LSTM of 512 in seconds, unasked")
@pytest.mark.parametrize("path", ["lstm", "sampling", "compare"])
def test_a_lesson_page_s_long_training_can_be_cancelled(page, app_server, path) -> None:
    """Hidden size 512 trains for minutes on a CPU (this test assumes one), so the page asks
    first, and says how long. Asked, its Cancel stops watching and lets the training go, the
    rerun the click causes does not start it again, and the page's other model (the GPT beside
    it) is not started instead. On the Sampling page the training runs outside its fragments: a
    click inside one would wait for it to end."""
    track_runs(page)
    page.goto(f"{app_server}/{path}?hidden_size=512&seed=11")  # no other test trains this
    ask = page.get_by_role("button", name="Train the LSTM (about 2 minutes)")
    ask.wait_for(timeout=120_000)
    cancel = page.get_by_role("button", name="Cancel training the LSTM")
    assert count_charts(page) == 0 and cancel.count() == 0
    ask.click()
    cancel.wait_for(timeout=120_000)
    with expect_rerun(page):
        cancel.click()
    assert_no_exception(page)
    assert page.get_by_text("You cancelled training the LSTM", exact=False).count() == 1
    assert page.get_by_role("button", name="Train the LSTM after all").count() == 1
    assert cancel.count() == 0 and count_charts(page) == 0
    assert page.get_by_text("Training the GPT", exact=False).count() == 0


def test_layers_say_their_default_as_the_model_family_changes(page, app_server) -> None:
    """Layers 0 in the link means the family's default: the slider says which number that is,
    stands where that number would, and keeps a chosen value when the family changes."""
    open_app(page, f"{app_server}/training")
    assert find_slider(page, "Layers").get_by_text("default (1)", exact=True).count() >= 1
    assert move_slider(page, "Layers", 2) == "3"  # default (1), 2, 3
    assert parse_qs(urlparse(page.url).query)["layers"] == ["3"]
    with expect_rerun(page):
        page.get_by_test_id("stSelectbox").filter(has_text="Model family").click()
        page.get_by_role("option", name="gpt", exact=True).click()
    assert_no_exception(page)
    assert find_slider(page, "Layers").get_by_text("3", exact=True).count() >= 1
    assert move_slider(page, "Layers", 1, "ArrowLeft") == "default (2)"  # 1, default (2), 3
    query = parse_qs(urlparse(page.url).query)
    assert query["model"] == ["gpt"] and "layers" not in query  # the default stays out of the link
    assert "2 layers (default)" in page.get_by_text("This trains:", exact=False).inner_text()


def test_copy_lesson_sets_the_sidebar_the_link_and_the_training_page(page, app_server, tmp_path) -> None:
    open_app(page, f"{app_server}/attention")
    with expect_rerun(page, timeout_ms=180_000):
        page.get_by_role("button", name="Load the copy lesson", exact=False).click()
    assert_no_exception(page)
    assert page.get_by_text("the copy head forming", exact=False).count() == 1
    # the lesson opens on the head that copies, in the one-head map: no button to it
    assert page.get_by_text("The head above is this one's best: layer 1, head 1", exact=False).count() == 1
    assert page.get_by_role("button", name="(highest score, ", exact=False).count() == 0
    shot(page, "attention_copy", tmp_path)
    query = parse_qs(urlparse(page.url).query)
    assert (query["corpus"], query["model"], query["lr"], query["steps"]) == (
        ["copy"], ["gpt"], ["0.001"], ["3000"])
    go_to(page, "7 · Training", timeout_ms=60_000)
    assert_no_exception(page)
    assert find_slider(page, "Learning rate").get_by_text("0.001", exact=True).count() >= 1
    assert find_slider(page, "Steps").get_by_text("3000", exact=True).count() >= 1
    plan = page.get_by_text("This trains:", exact=False).inner_text()
    assert "GPT on copy" in plan and "3000 steps" in plan and "learning rate 0.001" in plan
    assert page.get_by_text("Already trained", exact=False).count() == 1  # shown, no Train pressed
    assert wait_for_charts(page, 2) >= 2


def test_lstm_unit_box_agrees_with_the_equations_after_an_empty_prompt(page, app_server) -> None:
    """The Unit box came back at 0 after a run that stopped early (empty prompt), while the
    equations below it showed another unit: the browser and the server disagreed."""
    def shown() -> tuple[str, str]:
        box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Unit").locator("input")
        said = page.get_by_text("of layer 0, computed", exact=False).inner_text()
        return box.input_value(), said.split("unit ")[1].split()[0]

    open_app(page, f"{app_server}/lstm")
    box, said = shown()
    assert box == said
    prompt = page.get_by_label("Prompt", exact=True)
    for text in ("", "The keeper climbed the stairs"):
        prompt.fill(text)
        with expect_rerun(page):
            prompt.press("Control+Enter")
    assert_no_exception(page)
    assert shown() == (box, said)


@pytest.mark.parametrize("path", ["lstm", "lstm?model=gru", "attention"])
def test_worked_equations_fit_a_phone_screen(page, app_server, path) -> None:
    """The equations with this input's numbers end in their result: on a phone, the widest line
    must not run past the screen (assets/style.css shrinks them), else the result scrolls away."""
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page, f"{app_server}/{path}")
    assert_no_exception(page)
    equations = page.locator('[data-testid="stMarkdownContainer"] .katex-display').first
    equations.wait_for()
    ends, edge = equations.evaluate("""e => [
      Math.max(...Array.from(e.querySelectorAll('.katex-html span'), s => s.getBoundingClientRect().right)),
      e.getBoundingClientRect().right]""")
    # KaTeX's struts reach a pixel or two past the last glyph; a cut result is tens of pixels
    assert ends <= edge + 4, f"the equations end at {ends:.0f} px, their box at {edge:.0f} px"


def test_the_lstm_stepper_stays_one_row_on_a_phone(page, app_server) -> None:
    """◀, ▶ and the Timestep slider in one row that fits the screen (as columns, the arrows
    stacked a full-width row each above the slider)."""
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page, f"{app_server}/lstm")
    assert_no_exception(page)
    back, forward = (page.get_by_role("button", name=name, exact=True).first.bounding_box() for name in ("◀", "▶"))
    track = find_slider(page, "Timestep").locator('input[type="range"]').bounding_box()
    assert back["y"] == forward["y"] and back["x"] < forward["x"] < track["x"]
    assert track["y"] < back["y"] + back["height"] and track["x"] + track["width"] <= 390
    assert move_slider(page, "Timestep", 2) == "2:e"


@pytest.mark.parametrize("path", ["attention", "lstm", "compare", "sampling"])
def test_token_labels_do_not_overlap_on_a_phone(page, app_server, path) -> None:
    """Charts over a prompt's tokens label their axis by token. On a phone they must thin the
    labels to the room there is (Plotly's category axes do) instead of printing them on top of
    one another: level labels must not touch, slanted ones must stand a line's height apart."""
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page, f"{app_server}/{path}")
    assert_no_exception(page)
    assert wait_for_charts(page, 1) >= 1
    # per chart, the clearance between neighbouring x labels in font sizes (below 0: they overlap)
    clearances = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'), chart => {
      const labels = Array.from(chart.querySelectorAll('.xtick text'), t => {
        const box = t.getBoundingClientRect();
        const turn = /rotate\\((-?[\\d.]+)/.exec(t.getAttribute('transform') || '');
        return {left: box.left, right: box.right, centre: (box.left + box.right) / 2,
                angle: turn ? Math.abs(+turn[1]) : 0, size: parseFloat(getComputedStyle(t).fontSize)};
      }).sort((a, b) => a.centre - b.centre);
      return Math.min(...labels.slice(1).map((b, i) => b.angle
        ? (b.centre - labels[i].centre) * Math.sin(b.angle * Math.PI / 180) / b.size - 0.9
        : (b.left - labels[i].right) / b.size));
    })""")
    crowded = [round(clearance, 2) for clearance in clearances if clearance < 0]
    assert clearances and not crowded, f"x labels overlap on a {path} chart: {crowded}"


def test_a_link_s_bad_value_is_shown_as_text_never_as_a_link(page, app_server) -> None:
    """A link's bad value is quoted in a note on the page. A web address or an e-mail address
    there must not become a link inside the app's own warning (GitHub-style markdown links them
    even when escaped), nor its markup bold text or an image."""
    value = "www.a.org a@b.org **b** ![x](c.png)"  # a note quotes 40 characters
    open_app(page, f"{app_server}/sampling?seed={quote(value)}")
    assert_no_exception(page)
    note = page.locator('[data-testid="stAlert"]').filter(has_text="Ignored seed=")
    assert f"Ignored seed={value} from the link" in note.inner_text()  # literally, in a code span
    assert note.locator("a, img, strong").count() == 0


def test_the_3d_embedding_cube_fits_a_phone_screen(page, app_server) -> None:
    """The 3-D cube is drawn by WebGL, whose projection follows the chart's height: on a phone's
    narrow chart a cube sized for a desktop ran past both sides and cut its tick labels and axis
    titles. Nothing drawn may touch the chart's left or right edge below the legend."""
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page, f"{app_server}/embeddings")
    wait_for_charts(page, 1)
    with expect_rerun(page):
        page.get_by_text("3D", exact=True).click()
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.locator(".gl-container canvas").first.wait_for()
    chart.scroll_into_view_if_needed()
    image = settled_picture(chart)
    body = image[image.shape[0] // 4:]  # the legend starts at the left edge, above the cube
    inked = {side: int((body[:, columns] < 200).sum())
             for side, columns in (("left", slice(0, 4)), ("right", slice(-4, None)))}
    assert inked == {"left": 0, "right": 0}, f"the cube's drawing reaches the chart's edges: {inked}"


def test_the_address_bar_keeps_the_view_on_every_page(page, app_server) -> None:
    """The Training page's settings have their controls on that page only, and a page change
    dropped them from the address: a link copied from the address bar opened another model than
    the one on screen. Every page leaves the whole view in the address, as its share box says,
    and a link's value whose control is on another page waits there for it."""
    open_app(page, f"{app_server}/training?steps=30&dropout=0.1&temperature=0.5")
    for title, path in (("Home", "/"), ("Attention", "/attention")):
        go_to(page, title)
        assert_no_exception(page)
        address = urlparse(page.url)
        link = urlparse(page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').inner_text().strip())
        assert address.path == path and parse_qs(address.query) == parse_qs(link.query) == {
            "steps": ["30"], "dropout": ["0.1"], "temperature": ["0.5"]}
    # the link's Temperature, kept through pages without its control, is the slider's value
    go_to(page, "Sampling")
    assert_no_exception(page)
    assert float(find_slider(page, "Temperature").locator('input[type="range"]').input_value()) == 0.5
    assert parse_qs(urlparse(page.url).query)["temperature"] == ["0.5"]


def test_back_returns_to_the_page_before_with_its_settings(page, app_server) -> None:
    """Keeping the Training page's settings in the address must not cost an entry in the
    browser's history: putting them back after a page change made Back stay on the page."""
    open_app(page, f"{app_server}/?steps=30")
    for title in ("Training", "Home"):
        go_to(page, title)
        if title == "Training":
            assert move_slider(page, "Dropout", 2) == "0.10"
    assert parse_qs(urlparse(page.url).query) == {"steps": ["30"], "dropout": ["0.1"]}
    with expect_rerun(page, timeout_ms=180_000):
        page.go_back()
    assert_no_exception(page)
    assert urlparse(page.url).path == "/training"
    assert parse_qs(urlparse(page.url).query) == {"steps": ["30"], "dropout": ["0.1"]}
    assert find_slider(page, "Dropout").locator('input[type="range"]').input_value() == "0.1"


def test_a_link_without_a_prompt_opens_on_its_corpus_s_example_and_back_keeps_it(page, app_server) -> None:
    """The Prompt box opens on the corpus's example, as a link without a prompt means: its default
    was story's, so the address dropped story's prompt on brackets and Back brought story's back."""
    def prompt() -> str:
        return page.locator('[data-testid="stTextArea"] textarea').first.input_value()

    open_app(page, f"{app_server}/?corpus=brackets")
    assert prompt() == CORPUS_PROMPTS["brackets"] and "prompt" not in parse_qs(urlparse(page.url).query)
    go_to(page, "Tokenization")
    with expect_rerun(page, timeout_ms=180_000):
        page.go_back()
    assert urlparse(page.url).path == "/" and prompt() == CORPUS_PROMPTS["brackets"]
    open_app(page, f"{app_server}/?corpus=brackets&prompt={quote(DEFAULT_PROMPT)}")  # story's, kept
    assert prompt() == DEFAULT_PROMPT and parse_qs(urlparse(page.url).query)["prompt"] == [DEFAULT_PROMPT]
