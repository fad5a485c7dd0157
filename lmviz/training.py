"""Training as an iterator of events; the caller decides what to draw, print or keep.

    training = Training(text, "story", TokenizerConfig(), ModelConfig(), TrainConfig())
    for event in training:      # progress every log_every steps, validation every eval_every
        ...
    run = training.run          # the frozen Run, once the iterator is exhausted
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace

import torch
import torch.nn.functional as F

from lmviz.corpora import min_training_tokens, split_text
from lmviz.device import pick_device
from lmviz.graphed import GraphedSteps
from lmviz.models import RNG_LOCK, LanguageModel, ModelConfig, build_model
from lmviz.run import Event, Run, TrainConfig, freeze, run_key
from lmviz.sampling import SamplingConfig, generate
from lmviz.tokenizers import Tokenizer, TokenizerConfig, train_tokenizer

CUDA_GRAPHS = os.environ.get("LMVIZ_CUDA_GRAPHS", "1") != "0"


class TrainingError(ValueError):
    """Settings that cannot train on this text; the message is for the user."""


def unigram_entropy(ids: list[int]) -> float:
    """Entropy in nats of the token frequencies: the loss of a model that ignores context."""
    counts = Counter(ids)
    total = len(ids)
    return -sum(c / total * math.log(c / total) for c in counts.values())


def warmup_steps(config: TrainConfig) -> int:
    """The warmup's steps: at most a tenth of the training (a run shorter than its warmup never
    reached its learning rate: 10 steps climbed to a third of it)."""
    return min(config.warmup, config.steps // 10)


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warmup (`warmup_steps`), then cosine decay to a tenth of the peak."""
    warmup = warmup_steps(config)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.steps - warmup)
    return config.lr * (0.1 + 0.45 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def make_model(config: ModelConfig, seed: int, device: torch.device) -> LanguageModel:
    """The model's initial weights, from `seed` alone (models.RNG_LOCK), on `device`."""
    return build_model(config, seed).to(device)


class DropoutStream:
    """A training's own random stream for its dropout masks, which torch draws from the
    process's default generator of the device: `with stream:` around a forward pass swaps it in
    (under models.RNG_LOCK) and the process's back out. Only a forward with dropout on draws
    from it, so only such a forward waits for the lock. On CUDA, cuDNN's dropout between a
    recurrent model's layers keeps its own state (seeded once per process): that run reproduces
    only within one process."""

    def __init__(self, seed: int, device: torch.device) -> None:
        self.seed = seed + 1  # not the stream the batches are drawn from (seeded with `seed`)
        self.kind = device.type
        self.state = torch.Generator().manual_seed(self.seed).get_state()
        self.index = 0
        self.device_state: torch.Tensor | None = None  # MPS: seeded at the first forward
        if self.kind == "cuda":
            self.index = device.index if device.index is not None else torch.cuda.current_device()
            self.device_state = torch.Generator(device=device).manual_seed(self.seed).get_state()
        self._forked: contextlib.ExitStack | None = None

    def _fork(self) -> contextlib.AbstractContextManager:
        if self.kind in ("cuda", "mps"):
            return torch.random.fork_rng(devices=[self.index], device_type=self.kind)
        return torch.random.fork_rng(devices=[])

    def __enter__(self) -> DropoutStream:
        with contextlib.ExitStack() as stack:  # a failure lets go of the lock on its way out
            stack.enter_context(RNG_LOCK)
            stack.enter_context(self._fork())
            torch.set_rng_state(self.state)
            if self.kind == "cuda":
                torch.cuda.set_rng_state(self.device_state, self.index)
            elif self.kind == "mps":
                if self.device_state is None:
                    torch.mps.manual_seed(self.seed)
                else:
                    torch.mps.set_rng_state(self.device_state)
            self._forked = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        forked, self._forked = self._forked, None
        try:
            self.state = torch.get_rng_state()
            if self.kind == "cuda":
                self.device_state = torch.cuda.get_rng_state(self.index)
            elif self.kind == "mps":
                self.device_state = torch.mps.get_rng_state()
        finally:
            if forked is not None:
                forked.close()


def make_optimizer(model: LanguageModel, config: TrainConfig, device: torch.device):
    """AdamW; decay on matrices only; the fused kernel on CUDA."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    others = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": config.weight_decay},
              {"params": others, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.99), fused=device.type == "cuda")


SAMPLE_TEMPERATURE = 0.8  # of the samples written at each evaluation


def written_after(model: LanguageModel, tokenizer: Tokenizer, start: str, tokens: int, seed: int = 0) -> str:
    """What the model writes after `start` (`start` not included) at SAMPLE_TEMPERATURE: an
    evaluation sample."""
    steps = generate(model, tokenizer, start, SamplingConfig(temperature=SAMPLE_TEMPERATURE), tokens, seed=seed).steps
    return "".join(step.token for step in steps)


def sample_start(tokenizer: Tokenizer, text: str, ids: Sequence[int] | None = None) -> str:
    """What an evaluation sample starts from: a line break or a blank line, whichever is one
    token and follows more often in `ids` (`text` encoded; BPE merges nearly every line break
    of story into "\n\n", and a lone "\n", seen once in 69,624 tokens, started samples
    mid-word), else the text's first known token. It is not part of the sample, so a sample is
    only what the model wrote."""
    ids = tokenizer.encode(text).ids if ids is None else ids
    counts = Counter(ids)
    starts = [(counts[encoded.ids[0]], start) for start in ("\n", "\n\n")
              for encoded in [tokenizer.encode(start)] if len(encoded.ids) == 1 and not encoded.unknown]
    seen, start = max(starts, default=(0, ""))
    if seen > 0:
        return start
    encoded = tokenizer.encode(text[:64])
    unknown = set(encoded.unknown)
    known = [piece for n, piece in enumerate(encoded.pieces) if n not in unknown]
    return (known or [text[:1]])[0]


MAX_STEP_EVENTS = 5_000  # a diverged run's history: every step of the last this many


class Training:
    """One training from settings to a frozen Run; iterate it to train."""

    def __init__(self, text: str, corpus: str, tokenizer: TokenizerConfig, model: ModelConfig,
                 train: TrainConfig, cancel: threading.Event | None = None,
                 prepared_tokenizer: Tokenizer | None = None, cuda_graphs: bool | None = None) -> None:
        self.key = run_key(text, tokenizer, model, train)
        self.corpus = corpus
        self.tokenizer_config = tokenizer
        self.train_config = train
        self.cancel = cancel or threading.Event()
        self.device = pick_device(train.device)
        self.tokenizer = prepared_tokenizer or train_tokenizer(text, tokenizer)
        self.model_config = replace(model, vocab_size=self.tokenizer.vocab_size)
        train_text, val_text = split_text(text)
        train_ids = self.tokenizer.encode(train_text).ids
        val_encoding = self.tokenizer.encode(val_text)
        val_ids = val_encoding.ids
        context = self.model_config.context
        if len(train_ids) < (needed := min_training_tokens(context)):
            raise TrainingError(f"the training text has {len(train_ids)} tokens; context {context} "
                                f"needs at least {needed}: use more text or a shorter context")
        self.unigram_entropy = unigram_entropy(train_ids)
        self.chars_per_token = max(1, len(val_text)) / max(1, len(val_ids))
        unknown_chars = sum(val_encoding.offsets[i][1] - val_encoding.offsets[i][0] for i in val_encoding.unknown)
        self.unknown_char_share = unknown_chars / max(1, len(val_text))
        self.train_ids = torch.tensor(train_ids, dtype=torch.long, device=self.device)
        # a validation window needs 2 tokens (input + target); a tinier split uses the training tail
        self.held_out = len(val_ids) >= 2
        val_source = val_ids if self.held_out else train_ids[-(context + 1):]
        self.val_windows = self._val_windows(val_source, context, train.eval_windows)
        self.sample_start = sample_start(self.tokenizer, train_text, train_ids)
        self.run: Run | None = None
        # on CUDA, steps after the first few replay one CUDA graph (lmviz.graphed), unless
        # LMVIZ_CUDA_GRAPHS=0 or the model has dropout (its masks come from the run's own stream)
        self.cuda_graphs = CUDA_GRAPHS if cuda_graphs is None else cuda_graphs
        self.graphed: bool | None = None  # once trained on CUDA: whether the steps were replayed
        self.graph_failure: str | None = None  # why the capture failed, where it did

    def _val_windows(self, ids: list[int], context: int, count: int) -> torch.Tensor:
        """Evenly spaced validation windows of context + 1 tokens: the same for every evaluation."""
        length = min(context, len(ids) - 1)
        starts = torch.linspace(0, len(ids) - length - 1, min(count, len(ids) - length)).long()
        data = torch.tensor(ids, dtype=torch.long)
        return torch.stack([data[s:s + length + 1] for s in starts.tolist()]).to(self.device)

    @torch.no_grad()
    def _val_loss(self, model: LanguageModel) -> float:
        model.eval()
        logits = model(self.val_windows[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), self.val_windows[:, 1:].flatten())
        model.train()
        return loss.item()

    def _sample(self, model: LanguageModel) -> str | None:
        if self.train_config.sample_tokens <= 0:
            return None
        model.eval()
        written = written_after(model, self.tokenizer, self.sample_start, self.train_config.sample_tokens)
        model.train()
        return written

    def _diverged(self, train_loss: float, grad_norm: float) -> bool:
        """NaN or inf, or a loss far worse than guessing uniformly (ln V nats): it blew up."""
        uniform = math.log(self.model_config.vocab_size)
        return not (math.isfinite(train_loss) and math.isfinite(grad_norm)) or train_loss > 3 * uniform

    def _blowup_events(self, first_step: int, losses: list[float], norms: list[float],
                       seconds: float) -> list[Event]:
        """If a step from first_step on diverged: one event per step up to the first that did,
        the last marked so (how it blew up); else no events."""
        config, tokens = self.train_config, self.train_config.batch_size * self.model_config.context
        pairs = list(zip(losses, norms, strict=True))
        blown = next((n for n, pair in enumerate(pairs) if self._diverged(*pair)), None)
        if blown is None:
            return []
        return [Event(step, config.steps, loss, None, norm, lr_at(step - 1, config),
                      step * tokens / seconds, seconds, outcome="diverged" if step == first_step + blown else None)
                for step, (loss, norm) in enumerate(pairs[:blown + 1], first_step)]

    def _every_step(self, logged: list[Event], losses: list[float], norms: list[float],
                    blowup: list[Event]) -> list[Event]:
        """A diverged run's history: one event per step up to the blow-up, so that the lesson's
        chart and numbers (the lowest loss, the gradient norm's peak) are the steps' own, not a
        report's mean loss and last norm; evaluations stay where they were made. A run that went
        long before it diverged keeps its reports before the last MAX_STEP_EVENTS steps."""
        config = self.train_config
        first = blowup[0].step  # the first step of the window that blew up
        # from the step after the last report before the cut: no steps missing in between
        start = max([e.step for e in logged if e.step <= first - MAX_STEP_EVENTS], default=0) + 1
        kept = [e for e in logged if e.step < start]
        reports = iter([e for e in logged if e.step >= start])
        report = next(reports, None)
        steps = []
        for step in range(start, first):
            while report is not None and report.step < step:
                report = next(reports, None)
            assert report is not None  # every step before `first` was reported at or after it
            event = Event(step, config.steps, losses[step - 1], None, norms[step - 1],
                          lr_at(step - 1, config), report.tokens_per_second, report.seconds)
            steps.append(replace(event, val_loss=report.val_loss, sample=report.sample)
                         if report.step == step else event)
        return [*kept, *steps, *blowup]

    def __iter__(self) -> Iterator[Event]:
        config = self.train_config
        device = self.device
        model = make_model(self.model_config, config.seed, device)
        optimizer = make_optimizer(model, config, device)
        parameters = list(model.parameters())  # listed once: clipping walked the modules each step
        generator = torch.Generator(device=device).manual_seed(config.seed)
        # dropout's masks from the run's own stream; none drawn without dropout: no lock then
        own_stream = (DropoutStream(config.seed, device) if self.model_config.dropout > 0
                      else contextlib.nullcontext())
        context, batch = self.model_config.context, config.batch_size
        offsets = torch.arange(context + 1, device=device)  # (T+1,)
        high = len(self.train_ids) - context - 1
        graphs = self.cuda_graphs and device.type == "cuda" and self.model_config.dropout == 0
        # bf16: matrix products in bfloat16, weights, gradients, optimizer and loss in fp32 (a
        # graph replays the casts: none may be cached between steps)
        autocast = (torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=not graphs)
                    if config.precision == "bf16" else contextlib.nullcontext())

        def draw(out: torch.Tensor | None = None) -> torch.Tensor:
            """A batch's start positions, drawn on the device from the run's generator."""
            return torch.randint(0, high + 1, (batch,), device=device, generator=generator, out=out)

        def train_step(starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """One step on the windows at `starts`: its loss and gradient norm, not read."""
            window = self.train_ids[starts[:, None] + offsets]  # (B, T+1), sampled on the device
            with own_stream, autocast:
                logits = model(window[:, :-1])  # (B, T, V)
            loss = F.cross_entropy(logits.float().flatten(0, 1), window[:, 1:].flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(parameters, config.clip or math.inf)
            optimizer.step()
            return loss.detach(), grad_norm

        graphed = GraphedSteps(train_step, draw, batch, optimizer, device) if graphs else None
        # per-step loss and gradient norm since the last log point (device tensors), read in one
        # host sync there
        step_losses: list[torch.Tensor] = []
        step_norms: list[torch.Tensor] = []
        every_loss: list[float] = []  # the same, read: a diverged run's history keeps every step
        every_norm: list[float] = []
        history: list[Event] = []
        outcome = "finished"
        started = time.perf_counter()
        logged_steps = 0
        model.train()
        for step in range(1, config.steps + 1):
            if self.cancel.is_set():
                outcome = "cancelled"
                break
            lr = lr_at(step - 1, config)
            if graphed is not None:
                loss, grad_norm = graphed(lr)
            else:
                for group in optimizer.param_groups:
                    group["lr"] = lr
                loss, grad_norm = train_step(draw())
            step_losses.append(loss)
            step_norms.append(grad_norm)
            last = step == config.steps
            if step % config.log_every and step % config.eval_every and not last:
                continue
            since = step - logged_steps
            values = torch.stack(step_losses + step_norms).tolist()  # the sync
            losses, norms = values[:since], values[since:]
            every_loss += losses
            every_norm += norms
            step_losses.clear()
            step_norms.clear()
            first_step, logged_steps = logged_steps + 1, step
            train_loss, norm = sum(losses) / since, norms[-1]
            seconds = time.perf_counter() - started
            blowup = self._blowup_events(first_step, losses, norms, seconds)
            if blowup:
                outcome = "diverged"
                history = self._every_step(history, every_loss, every_norm, blowup)
                yield from blowup
                break
            evaluate = step % config.eval_every == 0 or last
            val_loss = self._val_loss(model) if evaluate else None
            sample = self._sample(model) if evaluate else None
            seconds = time.perf_counter() - started
            event = Event(step, config.steps, train_loss, val_loss, norm, lr,
                          step * batch * context / seconds, seconds, sample,
                          outcome="finished" if last else None)
            history.append(event)
            yield event
        seconds = time.perf_counter() - started
        if graphed is not None:
            self.graphed, self.graph_failure = graphed.captured, graphed.failed
            graphed = None  # the graph and its pool go (the gradients in it, with the model)
        if outcome == "cancelled" and history:
            history[-1] = replace(history[-1], outcome="cancelled")
        self.run = Run(
            key=self.key, corpus=self.corpus, tokenizer=self.tokenizer,
            tokenizer_config=self.tokenizer_config, model_config=self.model_config,
            train_config=config, model=freeze(model.cpu()), history=tuple(history), outcome=outcome,
            device=device.type, seconds=seconds, chars_per_token=self.chars_per_token,
            unigram_entropy=self.unigram_entropy, unknown_char_share=self.unknown_char_share,
            held_out=self.held_out,
            sample_start=self.sample_start,
        )


def train_run(text: str, corpus: str, tokenizer: TokenizerConfig, model: ModelConfig,
              train: TrainConfig) -> Run:
    """Train to the end, ignoring events: for tests, benchmarks and caches."""
    training = Training(text, corpus, tokenizer, model, train)
    for _ in training:
        pass
    assert training.run is not None
    return training.run
