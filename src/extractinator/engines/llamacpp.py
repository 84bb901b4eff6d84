"""The embedded engine: llama-cpp-python in this process, no server.

Requests run one at a time (one model, one KV cache). Prompts are formatted with the model's
own chat template and tokenized here, so the engine knows exactly how many tokens a request
uses and how many of them the KV cache already holds from the previous case (llama-cpp-python
keeps the longest common token prefix and evaluates only the rest).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..config import LlamaCppConfig, cache_dir
from ..errors import ContextOverflow, EngineError, ModelError
from ..model_store import DEFAULT_MODEL, ensure_default_model, sha256_file
from .base import GenerationRequest, GenerationResult, strip_reasoning
from .greedy import GreedyGrammarDecoder
from .option_scoring import KeptLogits, common_prefix, log_softmax, score_options
from .repetition import RepetitionGuard
from .stats import EngineStats

log = logging.getLogger(__name__)

# for GGUFs without a chat template (base models): plain "Role: text" turns
PLAIN_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant: {% endif %}"
)


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ModelError(f"{path}: not a GGUF model file")


def gguf_sha256(path: Path) -> str:
    """sha256 of a GGUF, cached by (path, size, mtime) so big files are hashed once."""
    st = path.stat()
    stamp_dir = cache_dir() / "hashes"
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    import hashlib

    stamp = stamp_dir / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".json")
    try:
        return str(json.loads(stamp.read_text())["sha256"])
    except (OSError, ValueError, KeyError):
        pass
    digest = sha256_file(path)
    stamp_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"key": key, "sha256": digest}))
    return digest


def _perf_reset(llm: Any) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)


def _perf(llm: Any) -> Any | None:
    """llama.cpp's decode counters since the last reset: t_p_eval_ms/n_p_eval (multi-token
    decodes: the prompt), t_eval_ms/n_eval (one-token decodes: generation); None when the
    context was made with no_perf."""
    import llama_cpp

    if llm.context_params.no_perf:
        return None
    return llama_cpp.llama_perf_context(llm._ctx.ctx)


class LlamaCppEngine:
    """llama-cpp-python with JSON-schema grammars and prompt-prefix reuse."""

    name = "llamacpp"

    def __init__(self, config: LlamaCppConfig | None = None) -> None:
        self.config = config or LlamaCppConfig()
        if self.config.model:
            self.path = Path(self.config.model).expanduser()
            _check_gguf(self.path)
            self._sha256 = gguf_sha256(self.path)
        else:
            self.path = ensure_default_model()
            self._sha256 = DEFAULT_MODEL.sha256
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as e:
            raise ModelError(
                f"the embedded engine needs llama-cpp-python ({e}); install it with: "
                'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python==0.3.36'
            ) from None
        threads = self.config.n_threads or os.cpu_count() or 1
        try:
            self._llm = Llama(
                model_path=str(self.path),
                n_ctx=self.config.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=self.config.n_gpu_layers,
                seed=0,
                verbose=False,
                **self.config.options,
            )
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"{self.path}: llama.cpp could not load the model ({e})") from None
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            log.warning("%s: the GGUF has no chat template; using a plain-text one", self.path)
            template = PLAIN_TEMPLATE
        model = self._llm._model
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(self._llm.token_eos()),
            bos_token=model.token_get_text(self._llm.token_bos()),
        )
        self._grammars: dict[str, Any] = {}
        # the last greedy answer: (prompt, generated tokens, {m: logits after m of them})
        self._answer_logits = KeptLogits()  # for option scoring after the answer
        # token ids the last answer generated (temperature 0; for measurements)
        self.last_generated: list[int] = []
        self._stats = EngineStats(self.name)
        self._lock = threading.Lock()  # loop-agnostic: one sequence at a time
        self._digits = self._digit_tokens()  # for the counting-loop guard

    def _digit_tokens(self) -> dict[int, int]:
        """Token -> digit where the model spells numbers digit by digit (each of "0"-"9"
        one token, "10" two); else empty (the counting-loop guard is off)."""
        digits = {}
        for d in range(10):
            ids = self._tokenize_text(str(d))
            if len(ids) != 1:
                return {}
            digits[ids[0]] = d
        return digits if len(self._tokenize_text("10")) == 2 else {}

    @property
    def model_id(self) -> str:
        return f"gguf:{self._sha256}"

    @property
    def context_size(self) -> int:
        return int(self._llm.n_ctx())

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model_path": str(self.path),
            "model_sha256": self._sha256,
            "n_ctx": self.context_size,
            "n_threads": self._llm.n_threads,
            "n_gpu_layers": self.config.n_gpu_layers,
        }

    def tokenize_prompt(self, request: GenerationRequest) -> list[int]:
        messages = [m.model_dump() for m in request.messages]
        formatted = self._formatter(messages=messages)
        tokens: list[int] = self._llm.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )
        return tokens

    async def count_tokens(self, request: GenerationRequest) -> int:
        return len(self.tokenize_prompt(request))

    def _grammar(self, request: GenerationRequest) -> Any:
        from llama_cpp import LlamaGrammar

        if request.json_schema is None:
            return None
        key = request.schema_key or json.dumps(request.json_schema, sort_keys=True)
        if key not in self._grammars:
            try:
                self._grammars[key] = LlamaGrammar.from_json_schema(
                    json.dumps(request.json_schema), verbose=False
                )
            except Exception as e:  # the converter raises bare Exceptions
                raise EngineError(f"cannot build a grammar from the task schema: {e}") from e
        return self._grammars[key]

    def _generate_sync(self, request: GenerationRequest) -> GenerationResult:
        tokens = self.tokenize_prompt(request)
        n_ctx = self.context_size
        if len(tokens) + request.max_tokens > n_ctx:
            raise ContextOverflow(len(tokens), request.max_tokens, n_ctx)
        llm = self._llm
        cached = common_prefix(list(llm.input_ids[: llm.n_tokens]), tokens)
        # llama-cpp-python re-evaluates the last token when the whole prompt is cached
        evaluated = max(len(tokens) - cached, 1)
        grammar = self._grammar(request)
        started = time.perf_counter()
        _perf_reset(llm)
        if request.temperature == 0:
            raw, finish_reason, completion_tokens = self._greedy(tokens, grammar, request)
        else:
            raw, finish_reason, completion_tokens = self._sampled(tokens, grammar, request)
        perf = _perf(llm)
        text, reasoning = strip_reasoning(raw)
        option_probs = None
        if request.option_fields and not reasoning:
            scoring_started = time.perf_counter()
            _perf_reset(llm)
            option_probs = score_options(
                tokens, text, request.option_fields, self._tokenize_text, self._next_logprobs
            )
            self._count_scoring(time.perf_counter() - scoring_started)
        seconds = time.perf_counter() - started
        return GenerationResult(
            option_probs=option_probs,
            probability_method="option_scoring" if option_probs else None,
            text=text,
            reasoning=reasoning,
            prompt_tokens=len(tokens),
            completion_tokens=completion_tokens,
            prompt_tokens_evaluated=evaluated,
            seconds=seconds,
            prompt_seconds=perf.t_p_eval_ms / 1000 if perf is not None else None,
            generation_seconds=perf.t_eval_ms / 1000 if perf is not None else None,
            finish_reason=finish_reason,
        )

    def _greedy(
        self, tokens: list[int], grammar: Any, request: GenerationRequest
    ) -> tuple[str, str, int]:
        """Temperature 0: the prompt onto the KV cache (reusing the cached prefix), then
        greedy decoding with the grammar checked on the chosen token first (greedy.py)."""
        llm = self._llm
        guard = RepetitionGuard(0, digits=self._digits)
        keys = [f'"{name}":'.encode() for name in request.option_fields or {}]

        def before_option_value(text: bytes) -> bool:
            return bool(keys) and text.rstrip().endswith(tuple(keys))

        try:
            self._load(tokens)
            with GreedyGrammarDecoder(llm, grammar) as decoder:
                decoded = decoder.decode(
                    request.max_tokens,
                    stop=lambda gen: guard(gen, None),
                    keep=before_option_value,
                )
        except (ValueError, RuntimeError) as e:
            raise EngineError(f"llama.cpp generation failed: {e}") from e
        self._answer_logits.set(tokens, decoded.tokens, decoded.kept_logits)
        self.last_generated = decoded.tokens
        out, finish_reason = decoded.tokens, decoded.finish_reason
        if guard.cut is not None:  # keep the text up to the first copy of the loop
            out, finish_reason = out[: guard.cut], "repetition"
        text = llm.detokenize(out).decode("utf-8", errors="replace")
        return text, finish_reason, len(decoded.tokens)

    def _sampled(
        self, tokens: list[int], grammar: Any, request: GenerationRequest
    ) -> tuple[str, str, int]:
        """At a temperature: llama-cpp-python's sampler chain (grammar on every candidate)."""
        from llama_cpp import StoppingCriteriaList

        llm = self._llm
        self._answer_logits.clear()
        self.last_generated = []
        guard = RepetitionGuard(len(tokens), digits=self._digits)
        try:
            out = llm.create_completion(
                prompt=tokens,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                seed=request.seed,
                grammar=grammar,
                stream=False,
                stopping_criteria=StoppingCriteriaList([guard]),
            )
        except (ValueError, RuntimeError) as e:
            raise EngineError(f"llama.cpp generation failed: {e}") from e
        choice = out["choices"][0]  # type: ignore[index]
        finish_reason = choice.get("finish_reason") or "stop"
        text = choice["text"]
        if guard.cut is not None:  # keep the text up to the first copy of the loop
            text = llm.detokenize(guard.generated[: guard.cut]).decode("utf-8", errors="replace")
            finish_reason = "repetition"
        return text, finish_reason, int(out["usage"]["completion_tokens"])  # type: ignore[index]

    def stats(self) -> EngineStats:
        return self._stats.snapshot()

    def _count_scoring(self, seconds: float) -> None:
        perf = _perf(self._llm)
        scoring = self._stats.option_scoring
        scoring.requests += 1
        scoring.seconds += seconds
        if perf is not None:
            scoring.decode_seconds += (perf.t_p_eval_ms + perf.t_eval_ms) / 1000
            scoring.tokens += perf.n_p_eval + perf.n_eval

    def _load(self, tokens: list[int]) -> None:
        """Make the KV cache hold ``tokens``, reusing the longest cached prefix; at least the
        last token is evaluated, so the logits are those after ``tokens``."""
        llm = self._llm
        common = common_prefix(list(llm.input_ids[: llm.n_tokens]), tokens)
        llm.n_tokens = min(common, len(tokens) - 1)
        llm.eval(tokens[llm.n_tokens :])

    def _tokenize_text(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def _next_logprobs(self, tokens: list[int]) -> Any:
        """Log-probabilities of the token after ``tokens``: kept from the last answer's
        decoding where it passed there (the same numbers a decode would give), else by a
        decode on the KV cache (reusing the longest cached prefix)."""
        import numpy as np

        logits = self._answer_logits.get(tokens)
        if logits is None:
            llm = self._llm
            self._load(tokens)
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        return log_softmax(logits)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        return await asyncio.to_thread(self._locked_generate, request)

    def _locked_generate(self, request: GenerationRequest) -> GenerationResult:
        with self._lock:
            return self._generate_sync(request)

    async def aclose(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None and not getattr(self, "_closed", False):
            self._closed = True
            llm.close()
