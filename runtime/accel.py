"""Acceleration of the workflow's diffusion model, compiled at start for the workflow's own shapes.

`accelerate(workflow)` runs at app start, after `ComfyWorkflow.load`: one throw-away request with the
workflow's saved values (so kernels, cuDNN/cuBLAS plans and compiled graphs exist before the first
visitor), during which a pass-through wrapper records the diffusion model's inputs (ComfyUI's executor
catches exceptions, so `spaces.aoti_capture`'s raising capture cannot be used inside it). The model is
then compiled for exactly those inputs and a second throw-away request warms the compiled path.

Backends:
- "compile": `torch.compile` (inductor, `fullgraph` where it traces, `dynamic=False`), off ZeroGPU;
- "aot": the `spaces` package's ahead-of-time path (`torch.export`, `spaces.aoti_compile`,
  `spaces.aoti_apply`; off ZeroGPU it is plain AOTInductor), on ZeroGPU inside one startup
  `@spaces.GPU` call, since ZeroGPU does not support `torch.compile` (opt-in: see `choose_backend`);
- "off": eager, ComfyUI's own path (the warm-up request still runs).
On a CUDA device the torch.compile'd call is also captured in a CUDA graph (one replay per sampler
step); the AOT package runs as ZeroGPU runs it, without one. With "compile" and `DECODE_ENV=1`, the VAE's
decode is compiled too (and graphed on CUDA) for the latent the warm-up decoded (ComfyUI has no wrapper
hook for it: the first-stage model's `decode` is shadowed by an instance attribute; other latents, and
decoder options, run ComfyUI's own). Opt-in: its speed on a GPU is not measured yet (bench/README.md).

The compiled model is applied through ComfyUI's own model-wrapper hook, the APPLY_MODEL wrapper that
`TorchCompileModel` uses (comfy_api/torch_helpers/torch_compile.py), so samplers, LoRA patching, caches
and the executor stay ComfyUI's. A call the compiled graph does not cover runs eager: other shapes
(another size or batch), other dtypes, a patched model (LoRA weights, attention patches, ControlNet),
another wrapper on the model.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import torch  # after `spaces` (the app imports it first); importing torch initializes no CUDA

from runtime.progress import report as report_progress

if TYPE_CHECKING:
    from runtime.workflow import ComfyWorkflow

BACKENDS = ("compile", "aot", "off")
BACKEND_ENV = "COMFY_SPACE_ACCEL"  # forces a backend (e.g. "aot" off ZeroGPU, for the benchmark)
DECODE_ENV = "COMFY_SPACE_ACCEL_DECODE"  # "1": the "compile" backend compiles the VAE decode too
WRAPPER_KEY = "comfy-space-wizard.accel"
STARTUP_GPU_DURATION_S = 600  # the startup @spaces.GPU call: warm-up, export and AOT compile
# Diffusion-model classes the acceleration was measured on (bench/README.md); others run eager.
MEASURED_MODELS = frozenset({"comfy.ldm.modules.diffusionmodules.openaimodel.UNetModel"})
MEASURED_DECODERS = frozenset({"comfy.ldm.models.autoencoder.AutoencoderKL"})  # VAE first-stage models
_SEED_INPUTS = ("seed", "noise_seed")  # KSampler, KSamplerAdvanced, RandomNoise
# transformer_options entries that change what the diffusion model computes.
_MODEL_CHANGING_OPTIONS = ("patches", "patches_replace", "optimized_attention_override")


@dataclass(frozen=True)
class AccelReport:
    """What `accelerate` did at start.

    Attributes:
        backend: "compile", "aot" or "off" (what requests use).
        reason: why it is off, or "" when a backend runs.
        signature: the compiled inputs, as (name, shape, dtype) per tensor.
        cuda_graph: whether the compiled call replays a CUDA graph.
        warm_up_s: the first throw-away request (eager, recording the inputs).
        compile_s: compiling plus the second throw-away request (the compiled path's first run).
        decode_signature: the VAE decode's compiled latent, as (name, shape, dtype), or () when eager.
        decode_reason: why the VAE decode runs eager, or "" when it is compiled.
    """

    backend: str
    reason: str = ""
    signature: tuple[tuple[str, tuple[int, ...], str], ...] = ()
    cuda_graph: bool = False
    warm_up_s: float = 0.0
    compile_s: float = 0.0
    decode_signature: tuple[tuple[str, tuple[int, ...], str], ...] = ()
    decode_reason: str = ""


@dataclass
class Acceleration:
    """The installed acceleration: `enabled` turns the compiled paths off and on (requests then run
    ComfyUI's eager path); `compiled_calls`/`eager_calls` count the diffusion-model calls of each,
    `decoders` count the VAE decodes."""

    report: AccelReport
    dispatchers: list["_Dispatcher"] = field(default_factory=list)
    decoders: list["_DecodeDispatcher"] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return any(part.enabled for part in [*self.dispatchers, *self.decoders])

    @enabled.setter
    def enabled(self, value: bool) -> None:
        for part in [*self.dispatchers, *self.decoders]:
            part.enabled = value

    @property
    def compiled_calls(self) -> int:
        return sum(dispatcher.compiled_calls for dispatcher in self.dispatchers)

    @property
    def eager_calls(self) -> int:
        return sum(dispatcher.eager_calls for dispatcher in self.dispatchers)


def choose_backend(enabled: bool) -> str:
    """`BACKEND_ENV` if set, else "compile" on a CUDA device, "off" on a CPU (where compiling was not
    measured to help), on ZeroGPU, or when the app was built without acceleration.

    On ZeroGPU the AoT path ("aot") is opt-in (`COMFY_SPACE_ACCEL=aot`): it has never run on a GPU here.
    The benchmark's H200 has torch 2.11, whose `aoti_load_package` segfaults on every AOTInductor CUDA
    package, a plain-torch two-layer conv included (bench/gpu/aot_probe.py, bench/README.md), and the
    Space's torch 2.9.1 cannot be put there; it passes on a CPU with torch 2.9.1 (tests/test_accel.py)."""
    from runtime.engine import running_on_zerogpu

    forced = os.environ.get(BACKEND_ENV, "").strip()
    if forced:
        if forced not in BACKENDS:
            raise ValueError(f"{BACKEND_ENV}={forced!r}: use one of {', '.join(BACKENDS)}")
        return forced
    if not enabled or running_on_zerogpu():
        return "off"
    return "compile" if torch.cuda.is_available() else "off"


def accelerate(
    workflow: "ComfyWorkflow", *, enabled: bool = True, backend: str | None = None
) -> Acceleration:
    """Warms the app up with one throw-away request (on a GPU) and, unless the backend is "off",
    compiles the workflow's diffusion model for the shapes that request used. Never raises for the
    workflow's sake: a request that fails or a model that does not compile leaves the app eager,
    with the reason."""
    backend = backend or choose_backend(enabled)
    from runtime.engine import running_on_zerogpu

    if backend == "off" and not workflow.engine.on_gpu:  # a CPU has no kernels or plans to warm up
        return Acceleration(AccelReport("off", "no GPU: no warm-up request"))
    report_progress("Warming up: one throw-away run" + (", then compiling" if backend != "off" else ""))

    if running_on_zerogpu():
        import spaces

        if backend == "compile":  # ZeroGPU does not support torch.compile; its graphs cannot be pickled
            logging.warning("acceleration: torch.compile is not supported on ZeroGPU; running eager")
            backend = "off"

        # The GPU exists only inside @spaces.GPU calls, in a forked worker process: warm-up and
        # compile run there and the result comes back pickled (spaces' compiled package is made for
        # that); it is installed here. No argument: the workflow (locks, models) cannot be pickled.
        def prepare_on_gpu() -> _Prepared:
            return _prepare(workflow, backend)

        return _install(workflow, spaces.GPU(duration=STARTUP_GPU_DURATION_S)(prepare_on_gpu)())
    prepared = _prepare(workflow, backend)
    acceleration = _install(workflow, prepared)
    if acceleration.dispatchers or acceleration.decoders:  # the compiled path's first run: graph capture
        started = time.perf_counter()
        _throw_away_request(workflow, variant=1)
        acceleration.report = dataclasses.replace(
            acceleration.report,
            compile_s=acceleration.report.compile_s + time.perf_counter() - started,
            cuda_graph=any(dispatcher.graphed for dispatcher in acceleration.dispatchers),
        )
    return acceleration


# --- preparing: warm-up, capture, compile ------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """What the warm-up and the compile produced, picklable (it crosses ZeroGPU's process boundary).

    Attributes:
        report: the report so far.
        names: the tensor inputs of the compiled call, in order.
        compiled: the compiled callable (a `spaces` AOT package or a torch.compile'd module), or None.
        weights_uuid: the model's weight-patch state when it was compiled (None: unpatched).
        decode: the compiled VAE decode (a torch.compile'd module), or None.
    """

    report: AccelReport
    names: tuple[str, ...] = ()
    compiled: Any = None
    weights_uuid: Any = None
    decode: Any = None


def _prepare(workflow: "ComfyWorkflow", backend: str) -> _Prepared:
    models = _diffusion_models(workflow)
    recorders = [_Recorder(model.diffusion_model) for _patcher, model in models]
    for (patcher, _model), recorder in zip(models, recorders):
        patcher.add_wrapper_with_key(_apply_model_wrapper_type(), WRAPPER_KEY, recorder.wrapper)
    decoders = _decoders(workflow)
    decode_recorders = [_DecodeRecorder(decoder) for decoder in decoders]
    for decoder, decode_recorder in zip(decoders, decode_recorders):
        decoder.decode = decode_recorder  # an instance attribute: shadows the class's decode
    started = time.perf_counter()
    try:
        error = _throw_away_request(workflow)
    finally:
        for patcher, _model in models:
            patcher.remove_wrappers_with_key(_apply_model_wrapper_type(), WRAPPER_KEY)
        for decoder in decoders:
            del decoder.decode
    warm_up_s = time.perf_counter() - started
    prepared = _prepare_diffusion_model(backend, models, recorders, error, warm_up_s)
    if prepared.compiled is None or backend != "compile":
        return prepared
    if os.environ.get(DECODE_ENV, "").strip() != "1":
        report = dataclasses.replace(prepared.report, decode_reason=f"off ({DECODE_ENV}=1 turns it on)")
        return dataclasses.replace(prepared, report=report)
    started = time.perf_counter()
    decode, decode_signature, decode_reason = _compile_decode(decoders, decode_recorders)
    report = dataclasses.replace(
        prepared.report,
        compile_s=prepared.report.compile_s + time.perf_counter() - started,
        decode_signature=decode_signature,
        decode_reason=decode_reason,
    )
    return dataclasses.replace(prepared, report=report, decode=decode)


def _prepare_diffusion_model(backend, models, recorders, error, warm_up_s: float) -> _Prepared:
    if error is not None:
        return _Prepared(AccelReport("off", f"the warm-up request failed: {error}", warm_up_s=warm_up_s))
    if backend == "off":
        reason = f"off: built without acceleration, on ZeroGPU (AoT is opt-in) or {BACKEND_ENV}=off"
        return _Prepared(AccelReport("off", reason, warm_up_s=warm_up_s))
    if len(models) != 1:
        reason = f"the workflow has {len(models)} diffusion models; one is accelerated"
        return _Prepared(AccelReport("off", reason, warm_up_s=warm_up_s))
    (patcher, model), recorder = models[0], recorders[0]
    kind = f"{type(model.diffusion_model).__module__}.{type(model.diffusion_model).__qualname__}"
    if kind not in MEASURED_MODELS:
        reason = f"{type(model.diffusion_model).__name__} is not among the measured models"
        return _Prepared(AccelReport("off", reason, warm_up_s=warm_up_s))
    if recorder.call is None:
        return _Prepared(
            AccelReport("off", "the warm-up request did not call the model", warm_up_s=warm_up_s)
        )
    names, tensors = recorder.call
    started = time.perf_counter()
    try:
        compiled = _compile(backend, model.diffusion_model, names, tensors)
    except Exception as error:  # a model that does not trace or compile stays eager
        logging.warning("acceleration off: compiling failed", exc_info=True)
        reason = (
            f"compiling failed: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        )
        return _Prepared(AccelReport("off", reason, warm_up_s=warm_up_s))
    report = AccelReport(
        backend,
        signature=_signature(names, tensors),
        warm_up_s=warm_up_s,
        compile_s=time.perf_counter() - started,
    )
    return _Prepared(report, names, compiled, getattr(model, "current_weight_patches_uuid", None))


def _throw_away_request(workflow: "ComfyWorkflow", variant: int = 0) -> str | None:
    """One request with the workflow's saved values, its seeds plus `variant` (ComfyUI's cache would
    skip the sampler of a repeated request). Its duration replaces the measured ones: a compiling
    request says nothing about later ones. Returns the error message, if it failed."""
    from runtime.errors import RunError

    overrides = {
        (node_id, name): value + variant
        for node_id, node in workflow.prompt.items()
        for name, value in node["inputs"].items()
        if name in _SEED_INPUTS and isinstance(value, int) and not isinstance(value, bool)
    }
    try:
        workflow.run_overrides(overrides)
    except (RunError, KeyError) as error:
        logging.warning("the warm-up request failed: %s", error)
        return str(error)
    finally:
        del workflow.durations[:-1]
    return None


def _diffusion_models(workflow: "ComfyWorkflow") -> list[tuple[Any, Any]]:
    """(ModelPatcher, BaseModel) of every preloaded diffusion model."""
    import comfy.model_base

    return [
        (patcher, patcher.model)
        for patcher in workflow.preloaded_patchers()
        if isinstance(patcher.model, comfy.model_base.BaseModel)
    ]


def _apply_model_wrapper_type() -> str:
    from comfy.patcher_extension import WrappersMP

    return WrappersMP.APPLY_MODEL


class _StandIn(torch.nn.Module):
    """Stands where BaseModel keeps `diffusion_model` during one apply_model call (a Module must be
    there); `dtype` is what `BaseModel.get_dtype` reads. Subclasses say what a call does."""

    def __init__(self, eager) -> None:
        super().__init__()
        object.__setattr__(self, "eager", eager)  # not a child module: the weights stay ComfyUI's
        self.dtype = eager.dtype

    def swapped_in(self, executor, args, kwargs):
        """Runs ComfyUI's apply_model with this stand-in as the diffusion model."""
        base_model = executor.class_obj
        base_model.diffusion_model = self
        try:
            return executor(*args, **kwargs)
        finally:
            base_model.diffusion_model = self.eager


class _Recorder(_StandIn):
    """A pass-through APPLY_MODEL wrapper that records the diffusion model's first covered call."""

    def __init__(self, eager) -> None:
        super().__init__(eager)
        self.call: tuple[tuple[str, ...], tuple[Any, ...]] | None = None

    def wrapper(self, executor, *args, **kwargs):
        if executor.class_obj.diffusion_model is not self.eager:
            return executor(*args, **kwargs)
        return self.swapped_in(executor, args, kwargs)

    def forward(self, x, timesteps=None, context=None, *rest, **options):
        call = _covered_call(x, timesteps, context, rest, options)
        if self.call is None and call is not None:
            self.call = (call[0], tuple(tensor.detach().clone() for tensor in call[1]))
        return self.eager(x, timesteps, context, *rest, **options)


def _covered_call(x, timesteps, context, rest: tuple, options: dict) -> tuple[tuple[str, ...], tuple] | None:
    """The call as (names, tensors) when a compiled graph of the plain model can stand for it: no
    control, no patches or overrides in transformer_options, no diffusion-model wrapper, every extra
    input a tensor. None otherwise."""
    import torch
    from comfy.patcher_extension import WrappersMP

    if rest or options.get("control") is not None:
        return None
    transformer_options = options.get("transformer_options") or {}
    if any(transformer_options.get(key) for key in _MODEL_CHANGING_OPTIONS):
        return None
    if (transformer_options.get("wrappers") or {}).get(WrappersMP.DIFFUSION_MODEL):
        return None
    extras = {
        name: value for name, value in options.items() if name not in ("control", "transformer_options")
    }
    names, tensors = ["x", "timesteps", "context"], [x, timesteps, context]
    for name in sorted(extras):
        if extras[name] is None:
            continue
        if not isinstance(extras[name], torch.Tensor):
            return None
        names.append(name)
        tensors.append(extras[name])
    if not all(isinstance(tensor, torch.Tensor) for tensor in tensors):
        return None
    return tuple(names), tuple(tensors)


def _signature(names, tensors) -> tuple[tuple[str, tuple[int, ...], str], ...]:
    return tuple(
        (name, tuple(tensor.shape), f"{str(tensor.dtype).removeprefix('torch.')}@{tensor.device}")
        for name, tensor in zip(names, tensors)
    )


class _UNetCall(torch.nn.Module):
    """The plain diffusion model called with positional tensors (what export and compile see)."""

    def __init__(self, model, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *tensors):
        x, timesteps, context, *extras = tensors
        conds = dict(zip(self.names[3:], extras))
        return self.model(x, timesteps, context=context, transformer_options={}, **conds)


def _compile(backend: str, model, names: tuple[str, ...], tensors: tuple) -> Any:
    """The compiled callable for exactly `tensors`' shapes, run once on them (the compile happens)."""
    call = _UNetCall(model, names)
    if backend == "compile":
        return _torch_compiled(call, tensors)
    if backend == "aot":
        import spaces

        # In inference mode, as ComfyUI's executor loads the weights: outside it, export and inductor
        # set requires_grad on them, which inference tensors refuse.
        with torch.inference_mode():
            exported = torch.export.export(call, args=tuple(tensors))
            return spaces.aoti_compile(exported)
    raise ValueError(f"unknown acceleration backend {backend!r}")


def _decoders(workflow: "ComfyWorkflow") -> list[Any]:
    """The first-stage models of every preloaded VAE (a VAE's patcher holds its first_stage_model)."""
    import comfy.model_base

    return [
        patcher.model
        for patcher in workflow.preloaded_patchers()
        if not isinstance(patcher.model, comfy.model_base.BaseModel) and hasattr(patcher.model, "decoder")
    ]


class _DecodeRecorder:
    """Stands as a first-stage model's `decode` during the warm-up: records the first plain call's latent
    (one tensor, no decoder options), then decodes with the class's own decode."""

    def __init__(self, decoder) -> None:
        self.decoder = decoder
        self.latent = None

    def __call__(self, z, **options):
        if self.latent is None and not options and isinstance(z, torch.Tensor):
            self.latent = z.detach().clone()
        return type(self.decoder).decode(self.decoder, z, **options)


class _DecodeCall(torch.nn.Module):
    """A first-stage model's own decode as a module's forward (what torch.compile sees)."""

    def __init__(self, decoder) -> None:
        super().__init__()
        self.decoder = decoder

    def forward(self, z):
        return type(self.decoder).decode(self.decoder, z)


def _compile_decode(decoders: list, recorders: list["_DecodeRecorder"]) -> tuple[Any, tuple, str]:
    """(the compiled decode run once on the recorded latent, its signature, "") or (None, (), why not)."""
    if len(decoders) != 1:
        return None, (), f"the workflow has {len(decoders)} VAEs; one is accelerated"
    decoder, latent = decoders[0], recorders[0].latent
    kind = f"{type(decoder).__module__}.{type(decoder).__qualname__}"
    if kind not in MEASURED_DECODERS:
        return None, (), f"{type(decoder).__name__} is not among the measured VAEs"
    if latent is None:
        return None, (), "the warm-up request decoded no latent"
    try:
        compiled = _torch_compiled(_DecodeCall(decoder), (latent,))
    except Exception as error:  # a VAE that does not compile decodes eager
        logging.warning("VAE decode stays eager: compiling failed", exc_info=True)
        return None, (), f"compiling failed: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
    return compiled, _signature(("z",), (latent,)), ""


def _torch_compiled(module: torch.nn.Module, tensors: tuple) -> Any:
    """`module` through torch.compile (inductor, static shapes), run once on `tensors` so it compiles:
    one graph where it traces whole, else with graph breaks."""
    try:
        compiled = torch.compile(module, backend="inductor", fullgraph=True, dynamic=False)
        with torch.inference_mode():
            compiled(*tensors)
    except Exception:
        logging.warning(
            "torch.compile with fullgraph=True failed; compiling with graph breaks", exc_info=True
        )
        compiled = torch.compile(module, backend="inductor", fullgraph=False, dynamic=False)
        with torch.inference_mode():
            compiled(*tensors)
    return compiled


# --- installing: the dispatcher on ComfyUI's model-wrapper hook --------------------------------------


def _install(workflow: "ComfyWorkflow", prepared: _Prepared) -> Acceleration:
    acceleration = Acceleration(report=prepared.report)
    if prepared.compiled is None:
        logging.info("acceleration: %s (%s)", prepared.report.backend, prepared.report.reason)
        return acceleration

    ((patcher, model),) = _diffusion_models(workflow)
    compiled = prepared.compiled
    if prepared.report.backend == "aot":
        import spaces

        holder = torch.nn.Module()  # no parameters: aoti_apply's draining leaves ComfyUI's weights alone
        spaces.aoti_apply(compiled, holder)
        compiled = holder
    dispatcher = _Dispatcher(
        model.diffusion_model,
        prepared.report.backend,
        compiled,
        prepared.names,
        prepared.report.signature,
        prepared.weights_uuid,
    )
    patcher.add_wrapper_with_key(_apply_model_wrapper_type(), WRAPPER_KEY, dispatcher.wrapper)
    acceleration.dispatchers.append(dispatcher)
    if prepared.decode is not None:
        (decoder,) = _decoders(workflow)
        decode = _DecodeDispatcher(decoder, prepared.decode, prepared.report.decode_signature)
        decoder.decode = decode
        acceleration.decoders.append(decode)
    logging.info("acceleration: %s for %s", prepared.report.backend, prepared.report.signature)
    return acceleration


class _Dispatcher(_StandIn):
    """The APPLY_MODEL wrapper that sends covered calls to the compiled graph and the rest to the
    eager model, counting both."""

    def __init__(self, eager, backend, compiled, names, signature, weights_uuid) -> None:
        super().__init__(eager)
        graphed = backend == "compile" and _on_cuda(signature)
        object.__setattr__(self, "run_compiled", _CudaGraphed(compiled) if graphed else compiled)
        self.names = names
        self.signature = signature
        self.weights_uuid = weights_uuid
        self.weights_at = _weights_at(eager) if graphed else None  # a CUDA graph holds weight addresses
        self.enabled = True
        self.compiled_calls = 0
        self.eager_calls = 0

    @property
    def graphed(self) -> bool:
        return isinstance(self.run_compiled, _CudaGraphed) and self.run_compiled.graph is not None

    def wrapper(self, executor, *args, **kwargs):
        from comfy.patcher_extension import WrappersMP, get_all_wrappers

        base_model = executor.class_obj
        transformer_options = args[5] if len(args) > 5 else kwargs.get("transformer_options", {})
        covered_model = (
            base_model.diffusion_model is self.eager
            and getattr(base_model, "current_weight_patches_uuid", None) == self.weights_uuid
            and not getattr(base_model, "model_lowvram", False)
            and self.weights_at in (None, _weights_at(self.eager))
            and len(get_all_wrappers(WrappersMP.APPLY_MODEL, transformer_options)) == 1
        )
        if not self.enabled:
            return executor(*args, **kwargs)
        if not covered_model:
            self.eager_calls += 1
            return executor(*args, **kwargs)
        return self.swapped_in(executor, args, kwargs)

    def forward(self, x, timesteps=None, context=None, *rest, **options):
        call = _covered_call(x, timesteps, context, rest, options)
        if call is not None and call[0] == self.names and _signature(*call) == self.signature:
            self.compiled_calls += 1
            return self.run_compiled(*call[1])
        self.eager_calls += 1
        return self.eager(x, timesteps, context, *rest, **options)


class _DecodeDispatcher:
    """Stands as the first-stage model's `decode`: the compiled decode (CUDA-graphed on CUDA) for the
    compiled latent's shape, dtype and device, the class's own decode for any other call."""

    def __init__(self, decoder, compiled, signature) -> None:
        self.decoder = decoder
        self.run_compiled = _CudaGraphed(compiled) if _on_cuda(signature) else compiled
        self.signature = signature
        self.weights_at = _weights_at(decoder)
        self.enabled = True
        self.compiled_calls = 0
        self.eager_calls = 0

    def __call__(self, z, **options):
        covered = not options and _weights_at(self.decoder) == self.weights_at
        if self.enabled and covered and _signature(("z",), (z,)) == self.signature:
            self.compiled_calls += 1
            return self.run_compiled(z)
        if self.enabled:
            self.eager_calls += 1
        return type(self.decoder).decode(self.decoder, z, **options)


def _weights_at(module) -> int | None:
    """Where the module's first weight lies in memory: a graph or an AOT package reads the weights where
    they were when it was made, so a model ComfyUI moved since (unloaded, reloaded) runs eager."""
    first = next(module.parameters(), None)
    return None if first is None else first.data_ptr()


def _on_cuda(signature) -> bool:
    return bool(signature) and all(
        dtype_device.split("@")[1].startswith("cuda") for _n, _s, dtype_device in signature
    )


class _CudaGraphed:
    """A callable on fixed-shape CUDA tensors, captured once in a CUDA graph and replayed: one launch
    per call instead of one per kernel. Falls back to plain calls if capturing fails."""

    def __init__(self, function: Callable) -> None:
        self.function = function
        self.graph = None
        self.failed = False
        self.static_inputs: tuple = ()
        self.static_output = None

    def __call__(self, *tensors):
        if self.failed:
            return self.function(*tensors)
        if self.graph is None:
            try:
                self._capture(tensors)
            except Exception:
                logging.warning(
                    "CUDA graph capture failed; the compiled model runs without it", exc_info=True
                )
                self.failed = True
                self.graph = None
                return self.function(*tensors)
        for static, tensor in zip(self.static_inputs, tensors):
            static.copy_(tensor)
        self.graph.replay()
        return self.static_output.clone()

    def _capture(self, tensors) -> None:
        self.static_inputs = tuple(tensor.clone() for tensor in tensors)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                self.function(*self.static_inputs)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.static_output = self.function(*self.static_inputs)
        self.graph = graph
