"""Plain data for the training lesson: what a view will train, a comparison row per run, the
samples taken during training, and where a diverged training blew up."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from lmviz.figures.labels import markdown_piece
from lmviz.presets import UPLOAD, View, configs, heads_for
from lmviz.run import Event, Run
from lmviz.text import counted, readable
from lmviz.tokenizers import MAX_CHARS
from lmviz.training import SAMPLE_TEMPERATURE, warmup_steps, written_after

SAMPLE_TOKENS = 60
TARGET_FRACTION = 0.6  # of the unigram entropy: a model that clearly uses context

# The two metrics' help on Home and the Training page: "nats" and "bits" were never said
VAL_LOSS_HELP = ("How surprised the model is by each next token of {text}: the "
                 "average of −ln p, p being the probability it gave the token that came (in nats, "
                 "natural-log units). 0 would be sure and right every time; lower is better.")
DIVERGED_HELP = " — here: the training diverged, so its final weights have none worth a number."
BITS_HELP = ("The same loss per character and in bits (log base 2): about how many yes-or-no "
             "questions per character the model still needs to guess the text. Lower is better; "
             "a guess among 64 characters, all equally likely, costs 6 bits.")


def plan_summary(view: View) -> str:
    """What the view trains, in words: the effective settings and what is ignored."""
    _, model, train = configs(view)
    default = " (default)"
    parts = [f"{model.family.upper()} on {view.corpus} ({view.tokenizer} tokens)",
             f"hidden size {model.hidden_size}",
             counted(model.layers, "layer") + ("" if view.layers else default),
             *([counted(model.heads, "head")] if model.family == "gpt" else []),
             f"context {model.context}",
             f"{train.steps} steps" + ("" if view.steps else default),
             f"learning rate {train.lr:g}",
             f"clipping at {train.clip:g}" if train.clip else "clipping off",
             f"dropout {model.dropout:g}",
             *([f"{train.precision} autocast"] if train.precision != "fp32" else [])]
    note = " Heads apply to the GPT only." if model.family != "gpt" else heads_note(view)
    return "This trains: " + " · ".join(parts) + "." + note


def heads_note(view: View) -> str:
    """' Hidden size 128 does not split into 3 heads: 2 heads are used (...)' when the GPT of
    this view cannot have the heads asked for, else ''."""
    used = heads_for(view.hidden_size, view.heads)
    if used == view.heads:
        return ""
    return (f" Hidden size {view.hidden_size} does not split into {view.heads} heads: "
            f"{used} {'head is' if used == 1 else 'heads are'} used (the most, up to "
            f"{view.heads}, that split it evenly).")


TRAINING_LABELS = {"layers": "layers", "heads": "heads", "context": "context", "steps": "steps",
                   "lr": "learning rate", "dropout": "dropout", "clip": "clipping", "precision": "precision"}


# Settings that train one family only: layers the sidebar's model family (other pages' other
# models keep their family's default depth), heads the GPT (see presets.configs).
ONE_FAMILY = {"layers": None, "heads": "gpt"}


def training_changes(view: View) -> list[str]:
    """The Training page's settings that differ from the defaults, in words (every page's models
    are trained with them, except where a setting says which family it trains)."""
    default = View()
    changes = []
    for name in TRAINING_LABELS:
        if getattr(view, name) != getattr(default, name):
            words = _setting(name, getattr(view, name))
            if name in ONE_FAMILY:
                words += f" ({(ONE_FAMILY[name] or view.model).upper()} only)"
            changes.append(words)
    return changes


def view_changes(view: View) -> list[str]:
    """Every setting that shapes the models and differs from the defaults, in words: the corpus,
    the model's tokens and size, then the Training page's (`training_changes`), then the seed."""
    default = View()
    changes = [] if view.corpus == default.corpus else [
        "your uploaded text" if view.corpus == UPLOAD else f"corpus {view.corpus}"]
    if view.tokenizer != default.tokenizer:
        changes.append(f"{view.tokenizer} tokens")
    if view.tokenizer != "char" and view.vocab_size != default.vocab_size:
        changes.append(f"vocabulary {view.vocab_size}")
    if view.hidden_size != default.hidden_size:
        changes.append(f"hidden size {view.hidden_size}")
    changes += training_changes(view)
    return changes + ([f"seed {view.seed}"] if view.seed != default.seed else [])


def _setting(name: str, value: object) -> str:
    """'learning rate 3', 'clipping off', 'layers 2'."""
    if name == "clip" and not value:
        return "clipping off"
    return f"{TRAINING_LABELS[name]} {value:g}" if isinstance(value, float) else f"{TRAINING_LABELS[name]} {value}"


def target_loss(run: Run) -> float:
    """60% of the unigram entropy: well below what a model ignoring context can reach."""
    return TARGET_FRACTION * run.unigram_entropy


def evaluation_samples(events: Sequence[Event]) -> list[tuple[int, str]]:
    """(step, sample) for every evaluation that generated text, in order."""
    return [(e.step, e.sample) for e in events if e.sample]


LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Windows text (an upload) keeps its \r\n


def samples_block(taken: Sequence[tuple[int, str]]) -> str:
    """The samples as lines of a code block, "step  60 │ text", a line break in a sample drawn
    as ↵: wrapped, a phone reads them whole (a table cut each at ~35 characters)."""
    width = max((len(str(step)) for step, _ in taken), default=1)
    return "\n".join(f"step {step:>{width}} │ {LINE_BREAK.sub('↵', sample)}" for step, sample in taken)


# what to watch for in the samples a training writes, corpus by corpus
SAMPLE_SIGNS = {
    "story": "real words and sentence shapes appear",
    "brackets": "the lines take the corpus's shape and brackets start to close in the right order",
    "copy": "lines take the form words | words, and the words after the bar start to repeat the "
            "words before it",
    "agreement": "the sentences take the corpus's shape and each verb starts to agree with its "
                 "subject (runs / run)",
}


def sample_signs(corpus: str, tokenizer: str = "char") -> str:
    """What the samples of a training on `corpus` show as it learns (a visitor's own text: it);
    word tokens are whole words from the first step, so on story only their order can improve."""
    if tokenizer == "word" and corpus == "story":
        return "the words start to fall into sentence shapes"
    return SAMPLE_SIGNS.get(corpus, "the samples start to look like the text it trains on")


def samples_heading(start: str, corpus: str, usable: bool = True, stage: str | None = None,
                    tokenizer: str = "char") -> str:
    """The heading of a training's evaluation samples (markdown): what each started from
    (`training.sample_start`) and what to read for; for a run that blew up (not `usable`), up to
    when; for one whose loss ended near the unigram entropy or above it (`stage`, from
    `learned_stage`), that they are little more than the text's tokens in their proportions, or
    not even that."""
    origin = {"\n": "each from the start of a line", "\n\n": "each after a blank line"}.get(
        start, f"each after “{markdown_piece(start)}”, the text's first token: this tokenizer has "
               "no line break token")
    signs = sample_signs(corpus, tokenizer)
    if usable and stage == "near":
        read = ("read them from top to bottom: this model's loss ended near a guess from each token's "
                "frequency alone, so they are mostly the text's tokens in about their proportions, before "
                f"{signs}")
    elif usable and stage == "above":
        read = ("read them from top to bottom: this model's loss ended above even a guess from each "
                f"token's frequency alone, so they are still close to random tokens, well before {signs}")
    else:
        read = f"read them from top to bottom as {signs}" + ("" if usable else ", until the training blew up")
    return (f"**What the model wrote at each evaluation** (temperature {SAMPLE_TEMPERATURE:g}, "
            f"{origin}): {read}.")


def run_sample(run: Run, prompt: str, seed: int = 0) -> str | None:
    """The last sample taken while training, else one generated now (after the prompt, with it;
    after a blank prompt, only what the model wrote from where its evaluation samples start: the
    vocabulary's first entry had been the text "<unk>"); None for a diverged run."""
    if not run.usable:
        return None
    taken = evaluation_samples(run.history)
    if taken:
        return taken[-1][1]
    if prompt.strip():
        return prompt + written_after(run.model, run.tokenizer, prompt, SAMPLE_TOKENS, seed)
    return written_after(run.model, run.tokenizer, run.sample_start, SAMPLE_TOKENS, seed)


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return round(value, digits) if value is not None and math.isfinite(value) else None


def run_row(run: Run, sample: str | None) -> dict:
    """One row of the runs table: every setting in its key (runs that differed only in context,
    precision or vocabulary looked the same), cost and results of the final weights."""
    model, train = run.model_config, run.train_config
    return {
        "key": run.key, "corpus": run.corpus, "tokenizer": run.tokenizer_config.kind,
        "model": model.family, "hidden": model.hidden_size, "layers": model.layers,
        "heads": str(model.heads) if model.family == "gpt" else "—", "context": model.context,
        "steps": train.steps, "lr": train.lr, "dropout": model.dropout, "clip": train.clip,
        "precision": train.precision, "seed": train.seed,
        # a char vocabulary is the text's characters: the setting is the word or BPE size
        "vocab": str(run.tokenizer_config.vocab_size) if run.tokenizer_config.kind != "char" else "—",
        "parameters": run.parameters, "seconds": round(run.seconds, 1), "device": run.device,
        # a diverged run's final weights are broken: an earlier validation loss would mislead
        "val loss": _rounded(run.val_loss) if run.usable else None,
        "bits/char": _rounded(run.bits_per_char) if run.usable else None,
        "outcome": run.outcome, "sample": sample or "—",
    }


@dataclass(frozen=True)
class Blowup:
    step: int
    loss: float  # the train loss that gave it away (may be inf or nan)
    grad_norm: float  # at that step (may be inf or nan)
    lr: float  # the schedule's rate at that step
    lr_setting: float  # the Training page's learning rate (reached after the warmup)
    best_loss: float | None  # the lowest train loss before it
    uniform_loss: float  # ln V: the loss of guessing uniformly
    peak_grad_norm: float | None  # the largest finite gradient norm of the training
    peak_step: int | None

    def gradient_words(self) -> str:
        """What the gradient norm did, as the chart shows it: its peak, and its value at the stop
        when that was not the peak."""
        end = readable(self.grad_norm)
        if self.peak_grad_norm is None:
            return f"the gradient norm was {end}"
        if self.peak_step == self.step:
            return f"the gradient norm peaked at {readable(self.peak_grad_norm)} there"
        return (f"the gradient norm peaked at {readable(self.peak_grad_norm)} at step {self.peak_step} "
                f"and was {end} at the stop")

    def rate_words(self) -> str:
        """'With learning rate 10', or the schedule's rate where it was not the setting yet (warmup)
        or any more (decay): 'With learning rate 2 at that step (the schedule's; the setting is 10)'."""
        if math.isclose(self.lr, self.lr_setting, rel_tol=0.01):
            return f"With learning rate {self.lr_setting:g}"
        return (f"With learning rate {self.lr:.3g} at that step (the schedule's; the setting is "
                f"{self.lr_setting:g})")

    def lesson(self) -> str:
        """The exploding-gradient lesson with this run's numbers (markdown)."""
        before = f"from {self.best_loss:.2f} " if self.best_loss is not None else ""
        return (f"**The training diverged at step {self.step}.** The loss went {before}to "
                f"{readable(self.loss)} — worse than guessing uniformly ({self.uniform_loss:.2f}) — and "
                f"{self.gradient_words()}. {self.rate_words()} each update was too large: a step "
                "overshot the low ground it was heading for and landed higher up the loss surface, "
                "where the next steps overshot again, until the loss ran away.")


def val_loss_help(run: Run) -> str:
    """VAL_LOSS_HELP, with what is true of this run instead where it is not: a diverged run has
    no loss worth a number, and one whose text was too short to hold any out was measured on
    text it trained on."""
    text = ("text it never trained on" if run.held_out else "the end of its training text (too little "
            "text to hold any out: the model has seen it)")
    return VAL_LOSS_HELP.format(text=text) + ("" if run.usable else DIVERGED_HELP)


def bits_help(run: Run) -> str:
    """BITS_HELP, and why a diverged run shows none."""
    return BITS_HELP if run.usable else BITS_HELP + DIVERGED_HELP


def history_caption(run: Run, found: Blowup | None) -> str:
    """What the two training charts show: the loss (or, for a diverged run, its blow-up), and the
    gradient norm with the schedule."""
    if found:
        first = run.history[0].train_loss
        fell = found.best_loss is not None and found.best_loss < 0.95 * first  # a real fall
        shape = ("so the fall before the blow-up shows too" if fell
                 else "where it climbs from the first step on")
        loss_words = (f"the loss on a log scale, {shape}, until the "
                "training was stopped (vertical line); the dashed line is a uniform guess over all "
                f"{run.model_config.vocab_size} tokens (ln V = {found.uniform_loss:.2f} nats): above "
                "it the model is worse than knowing nothing. Hover a point for its gradient norm.")
    else:
        validated = any(e.val_loss is not None for e in run.history)
        seen = ("no validation was measured before it stopped; the " if not validated else
                "validation (red) is text it never saw, and the " if run.held_out else
                "validation (red) is the end of the training text here (too little text to hold "
                "any out), and the ")
        losses = "the training and validation losses, which fall" if validated else "the training loss, which falls"
        loss_words = (f"{losses} as a model learns; {seen}"
                "dotted line is a target, 60% of the unigram entropy: the unigram entropy "
                f"({run.unigram_entropy:.2f} nats here) is the best loss without context, from each "
                "token's frequency alone, so only a model that uses context well gets below the line.")
    # what this curve did, where it says more than "it fell": it rose again (memorising), ended
    # near the unigram entropy (the samples are no words yet), or never fell
    told = learning_story(run.history, run.unigram_entropy, say_entropy=False) if not found else ""
    story = "" if told in ("", "It fell while the model trained.") else " " + told
    last = run.history[-1].step if run.history else 0  # 1-based: step s ran at lr_at(s - 1)
    schedule = ("still warming up when it stopped" if found and last < warmup_steps(run.train_config)
                else "warmup, then cosine decay")
    # "loss chart", not "left": on a phone the two charts stand one above the other
    return (f"The loss chart: {loss_words}{story} The gradient chart: the gradient norm and the "
            f"learning rate schedule ({schedule}).")


def blowup(run: Run) -> Blowup | None:
    """Where a diverged training was stopped; None if it did not diverge."""
    if run.outcome != "diverged" or not run.history:
        return None
    last = run.history[-1]
    before = [e.train_loss for e in run.history[:-1] if math.isfinite(e.train_loss)]
    norms = [e for e in run.history if math.isfinite(e.grad_norm)]
    peak = max(norms, key=lambda e: e.grad_norm) if norms else None
    return Blowup(last.step, last.train_loss, last.grad_norm, last.lr, run.train_config.lr,
                  min(before) if before else None, math.log(run.model_config.vocab_size),
                  peak.grad_norm if peak else None, peak.step if peak else None)


@dataclass(frozen=True)
class Drop:
    """The largest fall of the validation loss between two evaluations in a row."""

    step_before: int
    loss_before: float
    step_after: int
    loss_after: float


def steepest_drop(history: Sequence[Event]) -> Drop | None:
    """Where the validation loss fell most between consecutive evaluations (None: fewer than two)."""
    evaluated = [e for e in history if e.val_loss is not None and math.isfinite(e.val_loss)]
    pairs = list(pairwise(evaluated))
    if not pairs:
        return None
    before, after = max(pairs, key=lambda pair: pair[0].val_loss - pair[1].val_loss)
    return Drop(before.step, before.val_loss, after.step, after.val_loss)


@dataclass(frozen=True)
class Overfit:
    """The validation loss was lowest before the end and rose after: the model memorised."""

    best_step: int
    best_loss: float
    last_step: int
    last_loss: float


def overfitting(history: Sequence[Event], rise: float = 0.02) -> Overfit | None:
    """Where the validation loss bottomed out, when it ended more than `rise` (a fraction) above
    it while the training loss kept falling: the model memorised. None when validation was
    lowest at the end (or within that margin of it), or when the training loss rose too (the
    training went wrong, e.g. a learning rate too high: not memorising)."""
    evaluated = [e for e in history if e.val_loss is not None and math.isfinite(e.val_loss)]
    if len(evaluated) < 2:
        return None
    best, last = min(evaluated, key=lambda e: e.val_loss), evaluated[-1]
    if best.step == last.step or last.val_loss <= best.val_loss * (1 + rise):
        return None
    if not last.train_loss < best.train_loss:  # NaN or a rise: not memorising
        return None
    return Overfit(best.step, best.val_loss, last.step, last.val_loss)


MEMORISED_RISE = 0.15  # a validation loss this far above its lowest: more than the end's noise


def memorised(run: Run) -> Overfit | None:
    """Where a run learned its training text by heart, as the lesson pages say it did: its
    validation loss rose well above its lowest (MEMORISED_RISE, where `overfitting` takes 2%:
    BPE story's GPT went 2.85 to 2.94 in its last 120 steps, and was said to have memorised a
    book) while its training loss fell, and at its lowest it had learned something (below a
    uniform guess, ln V: a 10-step model at chance was said to have learned its text by heart)."""
    found = overfitting(run.history, rise=MEMORISED_RISE)
    if found is None or not found.best_loss < math.log(run.model_config.vocab_size):
        return None
    return found


NEAR_UNIGRAM = 0.9  # a validation loss above this share of the unigram entropy: little learned


def _validation_losses(history: Sequence[Event]) -> list[float]:
    return [e.val_loss for e in history if e.val_loss is not None and math.isfinite(e.val_loss)]


def _entropy_stage(history: Sequence[Event], unigram_entropy: float | None) -> str | None:
    """Where the last validation loss ended against the unigram entropy: "near" (within 10%),
    "above" (further up), else None (below, or nothing to compare)."""
    evaluated = _validation_losses(history)
    if unigram_entropy is None or not evaluated:
        return None
    if evaluated[-1] > (2 - NEAR_UNIGRAM) * unigram_entropy:
        return "above"
    return "near" if evaluated[-1] >= NEAR_UNIGRAM * unigram_entropy else None


def learned_stage(run: Run) -> str | None:
    """Where the run's last validation loss ended against the unigram entropy, as
    `learning_story` says it: "near" (within 10%: it knows how often each token comes, and
    little of the context), "above" (not even that yet), else None (below: it uses context; or
    it memorised its text, which it then writes back)."""
    if overfitting(run.history) is not None:
        return None
    return _entropy_stage(run.history, run.unigram_entropy)


def learning_story(history: Sequence[Event], unigram_entropy: float | None = None,
                   say_entropy: bool = True) -> str:
    """What the validation curve did: fell, or fell and then rose (memorising); given the
    corpus's unigram entropy, whether it ended near it (within 10%: the model learned how often
    each token comes, little more) or above it (not even that yet)."""
    found = overfitting(history)
    if found is None:
        evaluated = _validation_losses(history)
        curve = evaluated if len(evaluated) > 1 else [  # one evaluation: the training loss says
            e.train_loss for e in history if math.isfinite(e.train_loss)]
        fell = len(curve) > 1 and curve[-1] < curve[0]
        stage = _entropy_stage(history, unigram_entropy)
        if stage is None:
            return "It fell while the model trained." if fell else "It did not fall while the model trained."
        ended = "It fell while the model trained, but ended" if fell else "It ended"
        value = f" ({unigram_entropy:.2f} nats)" if say_entropy else ""  # a caption that gave it already
        entropy = f"the unigram entropy{value}, the loss of knowing only how often each token comes"
        if stage == "above":
            return f"{ended} above {entropy}: it has not learned even that yet. More steps help."
        return (f"{ended} near {entropy}: the model learned that much, and little of the context "
                "yet. Another learning rate or more steps may get it further.")
    return (f"Validation (red) was lowest at step {found.best_step} ({found.best_loss:.2f}) and rose "
            f"to {found.last_loss:.2f} by step {found.last_step}, while the training loss kept "
            "falling: the model began to memorise its training text instead of learning what "
            "carries over (overfitting). More text, fewer steps or dropout help.")


def run_notes(run: Run) -> list[str]:
    """The warnings a run's figures need beside them (Home, Training): <unk> flattering bits per
    character, a validation loss measured on training text."""
    return [note for note in (unknown_note(run), held_out_note(run)) if note is not None]


def held_out_note(run: Run) -> str | None:
    """A warning when the validation loss could not be measured on held-out text."""
    if run.held_out:
        return None
    return ("The text's validation part (its last 10%) is under 2 tokens long, too short to measure "
            "on: the validation loss here is measured on the end of the training text, which the "
            "model has seen, so it looks better than it is. A longer text gives a real one.")


def unknown_note(run: Run, least: float = 0.01) -> str | None:
    """A warning when <unk> covers at least `least` of the validation text: bits per character
    then leaves those characters out and flatters the tokenizer."""
    share = run.unknown_char_share
    if share < least:
        return None
    if run.tokenizer.kind != "word":  # char and BPE tokens know every character but the rarest
        return (f"{share:.0%} of the validation text's characters fall in <unk> tokens: a "
                f"vocabulary keeps the {MAX_CHARS - 1:,} most frequent characters, and this text "
                "has more. The model never has to spell the rest, so its bits per character leave "
                "them out and look better than they are.")
    return (f"{share:.0%} of the validation text's characters fall in <unk> tokens (words outside the "
            f"{run.tokenizer.vocab_size}-token vocabulary). The model never has to spell them, so its "
            "bits per character leave them out and look better than they are: compare tokenizers "
            "with a larger vocabulary (fewer <unk>) or with char tokens.")


def time_left(event: Event) -> str:
    """'about 40 s left', 'about 3 min left': the rest of a training at its pace so far ('' before
    its first step, or once done)."""
    if event.step <= 0 or event.step >= event.steps:
        return ""
    left = event.seconds / event.step * (event.steps - event.step)
    return f"about {max(1, round(left))} s left" if left < 90 else f"about {round(left / 60)} min left"


def training_budget(run: Run) -> str:
    """How a run was trained, in words: its steps, learning rate and validation loss."""
    train = run.train_config
    loss = f", validation loss {run.val_loss:.2f}" if run.val_loss is not None else ""
    return f"{train.steps:,} steps at learning rate {train.lr:g}{loss}"
