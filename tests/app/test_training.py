"""The training page (/training): controls in the link, Train, live view, divergence, runs table."""

from __future__ import annotations

import json
import math
import re
import threading

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from lmviz.corpora import load_corpus
from lmviz.jobs import Job, RunStore
from lmviz.presets import View, configs, copy_lesson, to_params
from lmviz.text import readable
from lmviz.ui.lesson_runs import CANCELLED_KEY
from lmviz.ui.lesson_runs import TRAINING_PAGE_JOB_KEY as JOB_KEY
from lmviz.ui.state import session_holder, view_key
from lmviz.ui.training_session import StartedTraining, cancel_training
from tests.app.apptest import open_app_page, plotly_array


def open_page(state: dict | None = None, **params: str) -> AppTest:
    return open_app_page('pages/training.py', state, **params)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def samples(at: AppTest) -> list[tuple[int, str]]:
    """What the model wrote at each evaluation, from the code block: (step, sample)."""
    block = next(c.value for c in at.code if c.value.startswith("step "))
    rows = [line.removeprefix("step ").split(" │ ", 1) for line in block.split("\n")]
    return [(int(step), text) for step, text in rows]


def runs_table(at: AppTest):
    return at.dataframe[-1].value


def test_controls_come_from_the_link() -> None:
    at = open_page(layers="2", heads="8", steps="120", lr="10", dropout="0.5", clip="0")
    assert at.select_slider(key="layers").value == 2 and at.slider(key="heads").value == 8
    assert at.select_slider(key="steps").value == 120 and at.select_slider(key="lr").value == 10.0
    assert at.slider(key="dropout").value == 0.5 and at.slider(key="clip").value == 0.0
    assert at.slider(key="heads").disabled  # the sidebar's model is an LSTM
    assert at.selectbox(key="device").value == at.selectbox(key="device").options[0]
    assert any("settings in the sidebar" in m.value for m in at.markdown)
    plan = at.caption[0].value
    assert "LSTM on story (char tokens)" in plan and "2 layers" in plan and "120 steps" in plan and "clipping off" in plan
    assert any("press **Train**" in i.value for i in at.info)
    assert at.button(key="train_cancel").disabled


def test_the_plan_says_how_long_it_will_take_before_train_is_pressed() -> None:
    """The estimate (lmviz.cost) on this CPU: the default LSTM in seconds, a wide one in minutes,
    which a lesson page would ask about first. No text uploaded yet: still an estimate, no error."""
    if torch.cuda.is_available():
        pytest.skip("the figures are a CPU's")
    assert "Estimated: about 10 seconds here" in open_page().caption[0].value
    wide = open_page(hidden_size="512").caption[0].value
    assert "Estimated: about 2 minutes here (lesson pages ask before a training over a minute and a half)" in wide
    empty = open_page(corpus="upload")
    assert not empty.exception and "Estimated: about" in empty.caption[0].value


@pytest.mark.parametrize(("model", "layers"), [("lstm", "1"), ("gpt", "2")])
def test_layers_and_steps_say_which_default_they_stand_for(model: str, layers: str) -> None:
    at = open_page(model=model)
    assert at.select_slider(key="layers").value == 0 and at.select_slider(key="steps").value == 0
    # the default stands where its number would: one step from it is one layer more or fewer
    expected = ["1", "2", "3"]
    expected[int(layers) - 1] = f"default ({layers})"
    assert at.select_slider(key="layers").options[:3] == expected
    steps = at.select_slider(key="steps").options
    assert steps[:2] == ["10", "20"] and steps[58:61] == ["590", "default (600)", "610"]
    assert "600" not in steps and steps[-1] == "5000"
    assert f"{layers} layer{'s' if layers != '1' else ''} (default)" in at.caption[0].value


def test_a_layer_count_another_family_spelled_out_becomes_this_family_s_default() -> None:
    at = open_page(layers="2")  # an LSTM of 2 layers; the GPT's default is 2
    assert at.select_slider(key="layers").value == 2
    at.selectbox(key="model").set_value("gpt").run()
    assert not at.exception and not at.warning
    assert at.select_slider(key="layers").value == 0 and "2 layers (default)" in at.caption[0].value
    # the sidebar, drawn before the slider, knows it too: no change to reset, none in the link
    assert not any("layers" in c.value for c in at.sidebar.caption)
    assert "layers" not in at.sidebar.code[0].value and "reset" not in str(at.sidebar.button).lower()


def test_context_and_precision_train_what_they_say() -> None:
    at = open_page(steps="20", seed="21", context="32", precision="bf16")
    assert at.select_slider(key="context").options == ["32", "64", "128"]  # a CPU: no 256
    assert at.select_slider(key="context").value == 32 and at.selectbox(key="precision").value == "bf16"
    assert not any("has a GPU" in i.value for i in at.info)
    assert "context 32" in at.caption[0].value and "bf16 autocast" in at.caption[0].value
    at.button(key="train").click().run()
    assert not at.exception
    table = runs_table(at)
    assert len(table) == 1 and table["outcome"][0] == "finished"


def test_a_gpu_offers_bigger_models_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the offer is checked here (nothing trains): tests/unit/test_gpu.py trains on CUDA."""
    import lmviz.ui.state as state

    monkeypatch.setattr(state, "available_devices", lambda: ["cuda", "cpu"])
    at = open_page(hidden_size="384", context="256", layers="6", heads="8", model="gpt")
    assert not at.exception
    assert any("has a GPU" in i.value and "width 384 with 6 layers" in i.value for i in at.info)
    assert at.select_slider(key="context").value == 256 and "256" in at.select_slider(key="context").options
    assert at.sidebar.select_slider(key="hidden_size").value == 384
    assert "1024" in at.sidebar.select_slider(key="hidden_size").options
    assert "hidden size 384 · 6 layers · 8 heads · context 256" in at.caption[0].value


def test_gpu_sizes_in_a_link_fall_back_on_a_cpu() -> None:
    at = open_page(hidden_size="1024", context="256")
    assert at.sidebar.select_slider(key="hidden_size").value == 128
    assert at.select_slider(key="context").value == 64
    assert "hidden size 128" in at.caption[0].value and "context 64" in at.caption[0].value


def test_an_existing_run_shows_before_train_is_pressed() -> None:
    at = open_page()  # the default settings ship with the app
    assert any("Already trained" in i.value and "without pressing" in i.value and "(it ships with the app)"
               in i.value for i in at.info)
    assert metric(at, "Validation loss") != "—" and len(at.get("plotly_chart")) == 2
    # the model's own figures, as Home shows them (the runs table's 3-digit rounding read 2.0253
    # as 2.025, then 2.02 beside Home's 2.03)
    home = open_app_page(None)
    assert metric(at, "Validation loss") == metric(home, "Validation loss")
    assert metric(at, "Bits per character") == metric(home, "Bits per char")  # a third of half a laptop
    assert not any(h.value.startswith("Runs you trained") for h in at.subheader)  # nothing trained yet
    assert at.button(key="train_cancel").disabled
    assert [step for step, _ in samples(at)] == list(range(60, 601, 60))


def test_without_a_text_train_is_off_and_the_page_says_where_to_add_one() -> None:
    at = open_page(corpus="upload")  # nothing uploaded yet
    assert at.button(key="train").disabled
    assert any("no text to train on yet" in i.value for i in at.info)
    assert not any("press **Train**" in i.value for i in at.info)  # it would have trained nothing
    at.text_area(key="lmviz_upload_paste").input("Too short for a Context of 64 tokens.").run()
    assert not at.exception and at.button(key="train").disabled  # it could only fail
    assert any(w.value.startswith("Too short to train on: a model reads 64 tokens at a time") and
               "must hold at least 66 characters; yours holds 33 characters. Add text (at least 74 "
               "characters in all)" in w.value for w in at.warning)
    at.text_area(key="lmviz_upload_paste").input("A text of my own, long enough to train on. " * 8).run()
    assert not at.exception and not at.button(key="train").disabled
    assert any("not trained yet" in i.value for i in at.info)
    # word tokens, several characters each: enough characters, too few tokens (Train had failed)
    at.text_area(key="lmviz_upload_paste").input("A text of my own, long enough to train on. " * 4).run()
    assert not at.exception and not at.button(key="train").disabled  # 154 characters to train on
    at.selectbox(key="tokenizer").set_value("word").run()
    assert not at.exception and at.button(key="train").disabled
    assert any("must hold at least 66 word tokens; yours holds" in w.value and w.value.endswith(
        "Add text, choose a shorter Context on the Training page, or choose char tokens (one per character) "
        "in the sidebar.") for w in at.warning)
    # 30 word tokens: too few for the shortest Context (32 needs 34), which is then not offered
    at.text_area(key="lmviz_upload_paste").input(
        "The keeper climbed the stairs each evening to light the lamp. Ships passed the harbour safely, "
        "and the people of the town slept well knowing the light would burn all night.").run()
    assert any(w.value.endswith("yours holds 30 word tokens. Add text, or choose char tokens (one per "
                                "character) in the sidebar.") for w in at.warning)
    # no spaces: a word token covers up to 65 characters, so 1,480 of them are 21 word tokens
    letters = "".join("ACGT"[(n * n + 3 * n) % 4] for n in range(1480))
    at.text_area(key="lmviz_upload_paste").input(letters).run()
    assert not at.exception and at.button(key="train").disabled


def test_the_samples_say_what_to_read_for_on_this_corpus() -> None:
    at = open_page(**to_params(copy_lesson(View())))  # shipped: shown without training
    said = next(m.value for m in at.markdown if m.value.startswith("**What the model wrote"))
    assert "repeat the words before it" in said and "sentence shapes" not in said
    # wrapped lines a phone reads whole, one per evaluation (a table cut each at ~35 characters)
    assert [step for step, _ in samples(at)] == list(range(300, 3001, 300))


def test_train_shows_an_existing_run_instantly() -> None:
    at = open_page()
    at.button(key="train").click().run()
    assert not at.exception
    assert any("Already trained" in s.value for s in at.success)
    assert metric(at, "Device") == "cpu" and metric(at, "Validation loss") != "—"
    assert len(at.get("plotly_chart")) == 2  # loss with its target line + gradient norm / lr
    table = runs_table(at)
    assert len(table) == 1 and table["outcome"][0] == "finished" and table["steps"][0] == 600
    written = samples(at)  # what the shipped model wrote at each evaluation
    assert [step for step, _ in written] == list(range(60, 601, 60)) and all(len(t) == 80 for _, t in written)


def test_a_short_training_runs_live_then_lands_in_the_table() -> None:
    at = open_page(steps="30", seed="11")
    at.button(key="train").click().run()
    assert not at.exception
    assert not any("Already trained" in s.value for s in at.success)
    assert metric(at, "Validation loss") != "—" and metric(at, "Device") == "cpu"
    assert [step for step, _ in samples(at)] == list(range(3, 31, 3))  # one sample per evaluation
    table = runs_table(at)
    assert list(table["seed"]) == [11] and list(table["steps"]) == [30]
    at.button(key="train").click().run()  # the same settings again: found, not retrained
    assert any("Already trained" in s.value for s in at.success)
    assert len(runs_table(at)) == 1
    at.slider(key="dropout").set_value(0.1).run()  # a new setting alone trains nothing
    assert not at.exception and len(runs_table(at)) == 1
    assert any("settings have changed" in i.value for i in at.info) and not at.metric
    at.slider(key="dropout").set_value(0.0).run()  # back to the trained settings: shown again
    assert metric(at, "Validation loss") == f"{table['val loss'][0]:.3f}"


def test_a_huge_learning_rate_explodes_with_a_lesson() -> None:
    at = open_page(lr="10", clip="0", steps="30")
    at.button(key="train").click().run()
    assert not at.exception
    assert any("diverged" in e.value and "each update was too large" in e.value
               and "gradient norm peaked at" in e.value
               and "at that step (the schedule's; the setting is 10)" in e.value for e in at.error)
    # AdamW's step is about the learning rate whatever the gradient: lowering it is the cure
    assert any("What to try" in w.value and "Learning rate down" in w.value
               and "clipping will not save it" in w.value for w in at.warning)
    assert not any("overfitting" in c.value for c in at.caption)  # a blow-up is not memorising
    assert any(c.value.startswith("The loss chart: the loss on a log scale") and "a uniform guess" in c.value
               for c in at.caption)
    assert metric(at, "Validation loss") == "—"
    assert next(m for m in at.metric if m.label == "Validation loss").proto.help.endswith(
        "the training diverged, so its final weights have none worth a number.")  # the "—" explained
    # the blow-up stands in for the loss chart (the two showed the same curve), beside the gradient
    blown, gradient = (json.loads(chart.proto.spec) for chart in at.get("plotly_chart"))
    assert blown["layout"]["title"]["text"] == "Where the training blew up"
    assert gradient["layout"]["title"]["text"] == "Gradient norm and learning rate"
    assert runs_table(at)["outcome"].tolist() == ["diverged"]
    assert at.dataframe[-1].proto.placeholder == "—"  # its missing val loss reads "—", not "None"


def test_a_blow_up_after_a_few_reports_is_told_and_drawn_step_by_step() -> None:
    """At learning rate 3 the default LSTM learns for a while, then blows up: the lesson's lowest
    loss and gradient peak are single steps' (reports give 12-step means and last norms), and
    both charts draw every step, so the numbers are on them."""
    at = open_page(lr="3")
    at.button(key="train").click().run()
    assert not at.exception
    lesson = next(e.value for e in at.error if "diverged" in e.value)
    stop, best, peak, peak_step = re.search(
        r"diverged at step (\d+)\.\*\* The loss went from (\d+\.\d+) .* the gradient norm peaked at "
        r"([\d,.]+(?: million)?) at step (\d+)", lesson).groups()
    blown, gradient = (json.loads(chart.proto.spec) for chart in at.get("plotly_chart"))
    loss = blown["data"][0]
    assert list(plotly_array(loss["x"])) == list(range(1, int(stop) + 1))  # every step
    assert float(best) < math.log(67) and f"{min(plotly_array(loss['y'])):.2f}" == best  # it learned first
    norm = next(t for t in gradient["data"] if t["name"] == "gradient norm")
    steps, norms = plotly_array(norm["x"]), plotly_array(norm["y"])
    assert list(steps) == list(range(1, int(stop) + 1))
    assert int(steps[np.argmax(norms)]) == int(peak_step) and readable(norms.max()) == peak


def test_a_cancelled_job_in_the_session_is_shown_as_cancelled() -> None:
    store = RunStore(threading.Semaphore(1), shipped=None)
    job = store.submit(load_corpus("story"), "story",
                       *configs(View(hidden_size=16, steps=2000, seed=5), device="cpu"))

    def cancel_after_first_report() -> None:
        with job.changed:
            job.changed.wait_for(lambda: bool(job.events) or job.done, timeout=120)
        job.cancel.set()

    threading.Thread(target=cancel_after_first_report, daemon=True).start()
    # the page's settings are the job's: after watching it, the page is drawn again as finished
    at = open_page(state={JOB_KEY: StartedTraining(job, "Training the LSTM", already=False)},
                   hidden_size="16", steps="2000", seed="5")
    assert job.done and job.run is not None and job.run.outcome == "cancelled"
    assert any(w.value.startswith("Cancelled at step") for w in at.warning)
    assert runs_table(at)["outcome"].tolist() == ["cancelled"]
    assert at.button(key="train_cancel").disabled  # drawn again once finished: nothing to cancel


def test_a_training_whose_settings_moved_while_it_ran_still_lands_in_the_table() -> None:
    """A setting moved while the training ran: the run, once ended, had been neither shown nor
    put in the table, under "Your earlier runs are in the table below" and no table."""
    store = RunStore(threading.Semaphore(1), shipped=None)
    job = store.submit(load_corpus("story"), "story", *configs(View(hidden_size=16, steps=30, seed=5), device="cpu"))
    # the page's settings are another seed's: it watches the job to its end, then draws again
    at = open_page(state={JOB_KEY: StartedTraining(job, "Training the LSTM", already=False)},
                   hidden_size="16", steps="30", seed="6")
    assert not at.exception and job.done and job.run is not None
    assert runs_table(at)["seed"].tolist() == [5] and runs_table(at)["outcome"].tolist() == ["finished"]
    assert any(i.value.startswith("The settings have changed since your last training") and
               i.value.endswith("Your earlier runs are in the table below.") for i in at.info)
    at.run()  # once in the table, however often the page is drawn
    assert len(runs_table(at)) == 1


def test_a_training_that_failed_names_no_table() -> None:
    job = Job(key="k", state="failed", error="the text is too short")
    at = open_page(state={JOB_KEY: StartedTraining(job, "Training the LSTM", already=False)}, seed="7")
    said = next(i.value for i in at.info if i.value.startswith("The settings have changed"))
    assert "table" not in said and not any(d for d in at.dataframe)


def test_cancel_callback_stops_a_training_only_this_session_wants() -> None:
    job = Job(key="k", state="training", holders={session_holder()})
    st.session_state[JOB_KEY] = StartedTraining(job, "Training", already=False)
    try:
        cancel_training()
        assert job.cancel.is_set() and not st.session_state[JOB_KEY].left
        # the lesson pages wait for a click: one restarted it, unasked
        assert "k" in st.session_state[CANCELLED_KEY]
    finally:
        del st.session_state[JOB_KEY]
        st.session_state.pop(CANCELLED_KEY, None)


def test_cancel_leaves_a_training_another_session_wants_running() -> None:
    job = Job(key="k", state="training", holders={session_holder(), "another visitor"})
    st.session_state[JOB_KEY] = StartedTraining(job, "Training", already=False)
    try:
        cancel_training()
        assert not job.cancel.is_set() and job.holders == {"another visitor"}
        assert st.session_state[JOB_KEY].left
        cancel_training()  # a second click changes nothing
        assert not job.cancel.is_set()
    finally:
        del st.session_state[JOB_KEY]


def test_a_session_that_let_go_says_the_training_goes_on_for_others() -> None:
    job = Job(key="k", state="training", holders={"another visitor"})
    at = open_page(state={JOB_KEY: StartedTraining(job, "Training the LSTM", already=False, left=True)})
    assert not at.exception and not job.cancel.is_set()
    assert any("Stopped watching" in i.value and "goes on for them" in i.value for i in at.info)
    assert at.button(key="train_cancel").disabled and not at.get("progress")


@pytest.mark.gpu
def test_training_on_the_gpu_reports_cuda() -> None:
    at = open_page(steps="30", seed="12")
    assert at.selectbox(key="device").options[0] == "cuda"  # the best device comes first
    at.button(key="train").click().run()
    assert not at.exception and metric(at, "Device") == "cuda"
    assert runs_table(at)["device"].tolist() == ["cuda"]


def test_train_for_new_settings_lets_go_of_the_training_left_running(monkeypatch) -> None:
    """Train, a setting changed, Train again: the first went on with no Cancel on the page."""
    import lmviz.ui.training_session as training_session

    first = Job(key="k1", state="training", holders={session_holder()})
    second = Job(key="k2", state="queued", holders={session_holder()})
    monkeypatch.setattr(training_session, "submit", lambda view, device: second)
    st.session_state[JOB_KEY] = StartedTraining(first, "Training", already=False)
    try:
        assert training_session.start_training(View(), "cpu").job is second
        assert first.cancel.is_set() and not second.cancel.is_set()
        training_session.start_training(View(), "cpu")  # the same settings again: kept
        assert not second.cancel.is_set()
        # the LSTM trained here, then the sidebar's model moved to the GPT: the Side by side page
        # still needs that LSTM, so the GPT's Train does not stop it
        lstm = Job(key=view_key(View(), "lstm"), state="training", holders={session_holder()})
        st.session_state[JOB_KEY] = StartedTraining(lstm, "Training", already=False)
        training_session.start_training(View(model="gpt"), "cpu")
        assert not lstm.cancel.is_set()
    finally:
        del st.session_state[JOB_KEY]
        st.session_state.pop("lmviz_asked", None)
