"""The settings that define what the app shows (a View), their allowed values, and the configs
they train with. Pure Python: the app validates URLs with it and tests call it directly."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

from lmviz.corpora import corpus_names, split_text
from lmviz.models import MODEL_FAMILIES, ModelConfig
from lmviz.run import PRECISIONS, TrainConfig
from lmviz.text import code_span
from lmviz.tokenizers import TOKENIZER_KINDS, TokenizerConfig

UPLOAD = "upload"  # the corpus name of a visitor's own text
HIDDEN_SIZES = (16, 32, 64, 128, 256, 512)
CONTEXTS = (32, 64, 128)
# Offered when CUDA is present: sizes an H100 trains in seconds and a CPU in up to an hour (a GPT
# 384 x 6 at context 256: 13 s against about 84 minutes; 384 is the width of a 6-layer GPT with 6
# or 8 heads).
GPU_HIDDEN_SIZES = (16, 32, 64, 128, 256, 384, 512, 768, 1024)
GPU_CONTEXTS = (*CONTEXTS, 256)
CPU_SIZES = {"hidden_size": HIDDEN_SIZES, "context": CONTEXTS}
MAX_PROMPT_CHARS = 500
# It stops mid-word, where the next character is a real choice (after a whole word a space is
# near certain: p = 0.99 after "...the stairs and", which leaves Sampling nothing to show).
DEFAULT_PROMPT = "The keeper climbed the st"
# A prompt that shows each corpus's structure.
CORPUS_PROMPTS = {
    "story": DEFAULT_PROMPT,
    "brackets": "out = f([x, (y, {i, 12}), \"ok\"], g(n))",
    # two lines whose spans differ in length: a copy head looks back a different distance on each
    "copy": "fu gip | fu gip\nkqz bol ent | kqz bol",
    "agreement": "the dogs that the cat sees",
}
# Word tokens read whole words: story's example, which stops mid-word for the char and BPE
# models, ends on a word there ("st" alone is <unk>, and the models then mostly wrote <unk>).
WORD_PROMPTS = {"story": "The keeper went up to the"}


def example_prompt(corpus: str, tokenizer: str) -> str | None:
    """The sidebar's example prompt for this corpus and tokenizer (None for an uploaded text)."""
    return WORD_PROMPTS.get(corpus) if tokenizer == "word" and corpus in WORD_PROMPTS else CORPUS_PROMPTS.get(corpus)


def opening_prompt(corpus: str, tokenizer: str) -> str:
    """The prompt a link without one opens on: its corpus's example as its tokenizer reads it (a
    link to `brackets` had opened on story's words, mostly <unk> there)."""
    return example_prompt(corpus, tokenizer) or DEFAULT_PROMPT


def text_prompt(text: str, tokenizer: str, length: int = 40) -> str:
    """An example prompt from a visitor's own text (story's words on a CSV or a German text were
    mostly <unk>): the first whole line of its validation part, which the model never trains on
    (else of the text), up to `length` characters; cut on a space for word tokens, anywhere for
    char and BPE (mid-word, the next character is a real choice)."""
    validation = split_text(text)[1].splitlines()[1:]  # its first line may start mid-line
    line = next((ln.strip() for ln in [*validation, *text.splitlines()] if ln.strip()), "")
    if len(line) <= length:
        return line
    cut = line[:length]
    return cut.rsplit(" ", 1)[0] if tokenizer == "word" and " " in cut else cut


def is_example_prompt(prompt: str) -> bool:
    return prompt in CORPUS_PROMPTS.values() or prompt in WORD_PROMPTS.values()


# Recurrent models learn one layer well in seconds; the GPT needs two layers for induction heads.
DEFAULT_LAYERS = {"lstm": 1, "gru": 1, "rnn": 1, "gpt": 2}
DEFAULT_STEPS = {"lstm": 600, "gru": 600, "rnn": 600, "gpt": 600}
FAMILY_DEFAULTS = {"layers": DEFAULT_LAYERS, "steps": DEFAULT_STEPS}  # what 0 means, per family
# The Training page offers these: a link with another rate could not be shown there.
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)


@dataclass(frozen=True)
class View:
    corpus: str = "story"
    tokenizer: str = "char"
    vocab_size: int = 256
    model: str = "lstm"
    hidden_size: int = 128
    layers: int = 0  # 0: the family's default
    heads: int = 4
    context: int = 64  # tokens the model reads at once (the GPT's positions, the windows trained on)
    steps: int = 0  # 0: the family's default
    lr: float = 1e-2  # on story every family gets there faster and ends lower than at 3e-3 (README)
    dropout: float = 0.0
    clip: float = 1.0
    precision: str = "fp32"
    seed: int = 0
    prompt: str = DEFAULT_PROMPT
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    draw: int = 0  # the Sampling page's side-by-side text: presses of "Generate again"


# Allowed values: a tuple is a whitelist, a (low, high) pair of numbers is an inclusive range.
CHOICES: dict[str, tuple] = {
    "corpus": (*corpus_names(), UPLOAD),
    "tokenizer": TOKENIZER_KINDS,
    "model": MODEL_FAMILIES,
    "hidden_size": GPU_HIDDEN_SIZES,
    "context": GPU_CONTEXTS,
    "lr": LEARNING_RATES,
    "precision": PRECISIONS,
}
RANGES: dict[str, tuple[float, float]] = {
    "vocab_size": (64, 2000), "layers": (0, 6), "heads": (1, 8), "steps": (0, 5000),
    "dropout": (0.0, 0.5), "clip": (0.0, 10.0), "seed": (0, 9999),
    "temperature": (0.0, 2.0), "top_k": (0, 200), "top_p": (0.05, 1.0), "draw": (0, 9999),
}
# The steps each slider moves by: a link's value between them could not be shown, and one within
# float noise of a step is that step (clip=1e-320 read "0.00", clipping off, while every gradient
# was clipped to nothing).
MULTIPLES: dict[str, float] = {"steps": 10, "dropout": 0.05, "clip": 0.5, "temperature": 0.05,
                               "top_p": 0.05}
SHAREABLE = tuple(f.name for f in fields(View))


LinkParams = Mapping[str, str | list[str]]  # a repeated parameter: the list of its values


def parse_params(params: LinkParams, gpu: bool = True) -> tuple[View, list[LinkNote]]:
    """A View from URL query parameters: what `clean_link` drops falls back to the default, with
    its note; without a prompt, the corpus's example (`opening_prompt`, the sidebar's Prompt box
    opens on it too)."""
    cleaned, notes = clean_link(params, gpu)
    default = View()
    values = {name: _parse_value(name, raw, type(getattr(default, name)))
              for name, raw in cleaned.items() if name in SHAREABLE}
    view = replace(default, **values)
    return (view if "prompt" in values else replace(view, prompt=opening_prompt(view.corpus, view.tokenizer))), notes


class LinkNote(str):
    """A change the app made to a link's value, in words (a str), and the `setting` it is about."""

    setting: str

    def __new__(cls, text: str, setting: str) -> LinkNote:
        note = super().__new__(cls, text)
        note.setting = setting
        return note

    def __getnewargs__(self) -> tuple[str, str]:  # copy and pickle
        return str(self), self.setting


def clean_link(params: LinkParams, gpu: bool = False) -> tuple[dict[str, str | list[str]], list[LinkNote]]:
    """The link's parameters as this machine can use them, each spelled as its control spells it
    (lr=10.0 becomes lr=10), and a note for each change of value: a repeated parameter keeps its
    last value, a bad value is dropped (a control bound to the link then starts from its default
    instead of reading the value its own way), a long prompt is cut, GPU sizes are dropped
    without a GPU. Parameters that are not a View's are kept as they are."""
    default = View()
    single: dict[str, str] = {}
    cleaned: dict[str, str | list[str]] = {}
    notes: list[LinkNote] = []
    for name, raw in params.items():
        if name not in SHAREABLE:
            cleaned[name] = raw
        elif isinstance(raw, str) or len(raw) == 1:
            single[name] = raw if isinstance(raw, str) else raw[0]
        else:
            single[name] = raw[-1]
            shown = [quoted(value) for value in raw[:3]] + ([f"… {len(raw) - 4:,} more …"] if len(raw) > 4 else [])
            shown += [quoted(value) for value in raw[3:][-1:]]  # and the last, which is used
            times = "twice" if len(raw) == 2 else f"{len(raw):,} times"  # "sets seed 2 times" read "to 2"
            notes.append(LinkNote(f"The link sets {name} {times} ({', '.join(shown)}): using the last", name))
    family = single.get("model") if single.get("model") in CHOICES["model"] else default.model
    for name, raw in single.items():
        value = _parse_value(name, raw, type(getattr(default, name)))
        using = f"using {default_words(name, family)}"
        if value is None and name == "prompt":  # the address bar of a page whose prompt was emptied
            notes.append(LinkNote("The link's prompt is empty: using the corpus's example prompt", name))
        elif value is None:
            notes.append(LinkNote(f"Ignored {name}={quoted(raw)} from the link (allowed: "
                                  f"{allowed_words(name, gpu)}); {using}", name))
        elif not gpu and name in CPU_SIZES and value not in CPU_SIZES[name]:
            notes.append(LinkNote(f"Ignored {name}={value} from the link: a size offered only on a machine "
                                  f"with a GPU, and this one has none; {using}", name))
        elif spells_family_default(name, value, family):
            continue  # 0 says it, and stays out of the link
        else:
            if name == "prompt" and len(raw) > MAX_PROMPT_CHARS:
                notes.append(LinkNote(long_prompt_note(len(raw), "from the link"), name))
            cleaned[name] = link_value(value)
    return cleaned, notes


def quoted(raw: str) -> str:
    """A link's value (its first 40 characters) as a note shows it: in a code span, since the
    notes are drawn as markdown (a link's `![x](url)` would load an image there, and its
    `www.x.org` would be a link, escaped or not); as its repr where it has a line break, another
    unprintable character or a space at an end, which would not show."""
    shown = raw[:40]
    return code_span(shown if shown.isprintable() and shown == shown.strip() and shown else repr(shown))


def allowed_words(name: str, gpu: bool = False) -> str:
    """What a link may set `name` to on this machine, in words: 'one of story, brackets, …' or
    '0 to 9,999 in steps of 10'."""
    if name in CHOICES:
        options = CHOICES[name] if gpu or name not in CPU_SIZES else CPU_SIZES[name]
        return "one of " + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in options)
    low, high = RANGES[name]
    step = f" in steps of {MULTIPLES[name]:g}" if name in MULTIPLES else ""
    return f"{low:,g} to {high:,g}{step}"


def link_value(value: object) -> str:
    """How a link spells a value: as the control bound to it writes it (10.0 -> "10", 0.01 ->
    "0.01"), the only spelling a select slider recognises."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def spells_family_default(name: str, value: object, family: str) -> bool:
    """Whether `value` of layers or steps is the family's default spelled out, which 0 means."""
    defaults = FAMILY_DEFAULTS.get(name, {})
    return family in defaults and value == defaults[family]


def family_options(name: str, family: str) -> list[int]:
    """A Training slider's values ("layers", "steps") in order, with 0 ("the family's default")
    standing where that default is: one step from it is one more or one fewer, not an end of
    the slider. The default's own number is not there again: 0 means it."""
    low, high = RANGES[name]
    step = int(MULTIPLES.get(name, 1))
    default = FAMILY_DEFAULTS[name][family]
    return [0 if value == default else value for value in range(low or step, int(high) + 1, step)]


def default_words(name: str, family: str) -> str:
    """A setting's default as its control shows it: layers and steps of 0 are the family's own."""
    if name in FAMILY_DEFAULTS:
        return f"the model's default ({FAMILY_DEFAULTS[name][family]})"
    value = getattr(View(), name)
    return f"{value:g}" if isinstance(value, float) else str(value)


def long_prompt_note(length: int, source: str) -> str:
    """What a prompt longer than MAX_PROMPT_CHARS is told; `source`: "from the link", "you entered"."""
    return (f"The prompt {source} has {length:,} characters: only its first {MAX_PROMPT_CHARS} "
            "are used")


def _parse_value(name: str, raw: str, kind: type):
    if kind is str:
        if name == "prompt":
            return raw[:MAX_PROMPT_CHARS] if raw.strip() else None
        return raw if raw in CHOICES.get(name, ()) else None
    try:
        number = kind(float(raw)) if kind is int and float(raw).is_integer() else kind(raw)
    except (TypeError, ValueError):
        return None
    if isinstance(number, float) and not math.isfinite(number):
        return None
    if name in CHOICES and number not in CHOICES[name]:
        return None
    low, high = RANGES.get(name, (-math.inf, math.inf))
    if not low <= number <= high:
        return None
    if name in MULTIPLES:  # the control moves in these steps: it could not show another value
        units = number / MULTIPLES[name]
        if abs(units - round(units)) > 1e-9:
            return None
        number = kind(round(round(units) * MULTIPLES[name], 9))  # 0.15000000001 is 0.15
    return number


# The copy corpus's GPT learns to copy only after a plateau, and only at a low learning rate. At
# 0.001 its validation loss creeps down to 2.6-2.65 nats until step 600-900, then falls below 2.0
# within 300-600 steps and to ~1.8 by step 3,000 (seeds 0-2, CPU) as a layer-1 head learns to
# look at the token after the earlier occurrence of the current one (an induction head: spans
# vary in length, so no fixed look-back works). Seed 0 at 0.002 falls only after 2,400 steps; at
# 0.003 and 0.01 it is still on the plateau at 3,000. The Attention page's copy lesson trains it
# so (the run ships with the app; 160 s on a 2-core CPU); the other settings are the defaults.
COPY_LESSON = {"corpus": "copy", "model": "gpt", "lr": 1e-3, "steps": 3000}
LESSON_FIELDS = ("tokenizer", "vocab_size", "hidden_size", "layers", "heads", "context", "dropout",
                 "clip", "precision", "seed", *COPY_LESSON)


def copy_lesson(view: View) -> View:
    """The view with the copy lesson's training settings and a prompt that repeats a span."""
    trained = {name: getattr(View(), name) for name in LESSON_FIELDS}
    return replace(view, **{**trained, **COPY_LESSON, "prompt": CORPUS_PROMPTS["copy"]})


def shipped_views() -> list[View]:
    """The views whose LSTM and GPT ship in assets/runs: each corpus's default, and the copy lesson."""
    return [*(replace(View(), corpus=name) for name in corpus_names()), copy_lesson(View())]


def is_copy_lesson(view: View) -> bool:
    """Whether the view trains the copy lesson's GPT (whatever the prompt and sampling): what it
    trains, not each field (a char tokenizer has no vocabulary size to set: moving that slider
    lost the lesson, its model unchanged)."""
    lesson = copy_lesson(view)
    return (view.corpus, view.model) == (lesson.corpus, lesson.model) and configs(view) == configs(lesson)


def to_params(view: View) -> dict[str, str]:
    """Query parameters for the values that differ from the defaults (for a copy-link), but for an
    uploaded corpus and an empty prompt, which a link cannot carry. The prompt is left out where
    the link opens on it anyway (`opening_prompt`), and kept where it would not (story's example
    on `brackets`)."""
    default = asdict(View())
    params = {k: link_value(v) for k, v in asdict(view).items() if v != default[k] or k == "prompt"}
    if view.corpus == UPLOAD:  # a visitor's text never leaves their session
        del params["corpus"]
    opens_on = opening_prompt(params.get("corpus", default["corpus"]), view.tokenizer)
    if not view.prompt.strip() or view.prompt == opens_on:  # a link's empty prompt would be refused
        del params["prompt"]
    return params


def heads_for(width: int, heads: int) -> int:
    """The most heads, up to `heads`, that split `width` evenly (each head gets width / heads)."""
    return next(n for n in range(max(1, heads), 0, -1) if width % n == 0)


def configs(view: View, family: str | None = None,
            device: str = "auto") -> tuple[TokenizerConfig, ModelConfig, TrainConfig]:
    """What a view trains: `family` overrides the model (the LSTM page shows an LSTM whatever
    model is chosen); layers and steps of 0 mean the family's defaults. Layers are the view's
    model's only (another family keeps its own default depth); steps, like the learning rate,
    train every family: the Side by side and Sampling pages compare two models trained as long.
    `device` only picks where it trains (not part of the run key)."""
    family = family or view.model
    layers = view.layers if view.layers and family == view.model else DEFAULT_LAYERS[family]
    width = view.hidden_size
    # heads are the GPT's only: a recurrent model with the view's heads in its key trained again
    heads = heads_for(width, view.heads) if family == "gpt" else View().heads
    tokenizer = TokenizerConfig(view.tokenizer, view.vocab_size if view.tokenizer != "char" else 256)
    model = ModelConfig(family=family, hidden_size=width, embed_size=32, layers=layers,
                        heads=heads, context=view.context, dropout=view.dropout)
    steps = view.steps or DEFAULT_STEPS[family]
    train = TrainConfig(steps=steps, batch_size=32, lr=view.lr, clip=view.clip, seed=view.seed,
                        eval_every=max(1, steps // 10), log_every=max(1, steps // 50), device=device,
                        precision=view.precision)
    return tokenizer, model, train


def cli_args(view: View, family: str | None = None) -> list[str]:
    """The `python -m lmviz train` arguments that produce the same run as `configs(view, family)`."""
    tokenizer, model, train = configs(view, family)
    return ["--corpus", view.corpus, "--tokenizer", tokenizer.kind, "--vocab-size", str(tokenizer.vocab_size),
            "--model", model.family, "--hidden-size", str(model.hidden_size),
            "--embed-size", str(model.embed_size), "--layers", str(model.layers),
            "--heads", str(model.heads), "--context", str(model.context),
            "--batch-size", str(train.batch_size), "--steps", str(train.steps), "--lr", repr(train.lr),
            "--clip", repr(train.clip), "--dropout", repr(model.dropout), "--seed", str(train.seed),
            "--precision", train.precision, "--eval-every", str(train.eval_every),
            "--log-every", str(train.log_every)]
