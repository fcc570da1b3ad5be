# Type stubs of the smx package (signatures and contracts; implementations in __init__.py).
from typing import Any, Literal, Optional, Tuple, TypeVar, overload

# NumPy arrays, torch tensors, JAX arrays (anything with __dlpack__), or array-likes.
_Array = TypeVar("_Array")

__version__: str

def softmax(x: _Array, dim: int = -1, *, temperature: float = 1.0, out: Any = None) -> _Array:
    """softmax(x / temperature) along ``dim``, in the caller's framework.

    Within 4 ULP (f32) / 8 ULP (f64) of the exact result; f16/bf16 computed in f32, rounded once.
    A row with NaN or +inf gives NaN; a fully masked row (all -inf) gives 0; -inf entries give 0.
    temperature=0: hardmax (1/c on the c maxima); temperature=inf: uniform 1/K; negative or NaN:
    ValueError. ``out``: same shape and dtype (may be ``x`` itself); returned.
    """

def log_softmax(
    x: _Array, dim: int = -1, *, temperature: float = 1.0, out: Any = None
) -> _Array:
    """log softmax(x / temperature) along ``dim``: x_i/T - logsumexp(x/T), in log space.

    Within 4 ULP (f32) / 8 ULP (f64). A row with NaN or +inf gives NaN; a fully masked row gives
    -inf. temperature=0: -log c on the c maxima, -inf elsewhere; temperature=inf: -log K.
    """

@overload
def logsumexp(
    x: _Array, dim: int = -1, *, keepdim: bool = False, b: Any = None,
    return_sign: Literal[False] = False, out: Any = None
) -> _Array: ...
@overload
def logsumexp(
    x: _Array, dim: int = -1, *, keepdim: bool = False, b: Any = None,
    return_sign: Literal[True], out: Any = None
) -> Tuple[_Array, _Array]:
    """log(sum(exp(x))) along ``dim`` (dropped unless keepdim), without overflow.

    Within 4 ULP (f32) / 8 ULP (f64). NaN in a row gives NaN; +inf (no NaN) gives +inf; a fully
    masked or empty row gives -inf. With weights b (broadcastable to x): log|sum_j b_j exp(x_j)|
    as scipy.special.logsumexp; a negative sum gives NaN, or with return_sign=True the pair
    (result, sign), sign in {+1, -1, 0 (sum exactly 0, result -inf), NaN}. b_j = 0 drops x_j,
    even NaN or +-inf.
    """

def logsumexp_gradient(x: _Array, dim: int = -1) -> _Array:
    """d logsumexp(x) / dx = softmax(x) along dim."""

def logsumexp_hessian(x: _Array, dim: int = -1) -> _Array:
    """d2 logsumexp(x) / dx2 = diag(y) - y y^T, y = softmax(x): x's shape without dim, then K, K."""

def sigmoid(x: _Array, *, out: Any = None) -> _Array:
    """1 / (1 + exp(-x)) elementwise (the 2-class softmax); within 4 ULP (f32) / 8 ULP (f64)."""

def log_sigmoid(x: _Array, *, out: Any = None) -> _Array:
    """-log1p(exp(-x)) elementwise: log_sigmoid(-100) = -100, log_sigmoid(40) = -exp(-40)."""

def softplus(x: _Array, *, out: Any = None) -> _Array:
    """log1p(exp(x)) elementwise, without overflow (logsumexp([x, 0]))."""

def softmax_backward(
    grad: _Array, y: _Array, dim: int = -1, *, temperature: float = 1.0, out: Any = None
) -> _Array:
    """y * (grad - <grad, y>) / T from the saved y = softmax(z / T) (PyTorch's backward)."""

def log_softmax_backward(
    grad: _Array, output: _Array, dim: int = -1, *, temperature: float = 1.0, out: Any = None
) -> _Array:
    """(grad - exp(output) * sum(grad)) / T from the saved output = log_softmax(z / T)."""

def softmax_jvp(
    y: _Array, v: _Array, dim: int = -1, *, temperature: float = 1.0, out: Any = None
) -> _Array:
    """J v = y * (v - <v, y>) / T (forward mode)."""

def softmax_jacobian(z: _Array, dim: int = -1, *, temperature: float = 1.0) -> _Array:
    """(diag(y) - y y^T) / T per row: z's shape without dim, then K, K."""

def entropy(
    z: _Array, dim: int = -1, *, temperature: float = 1.0, keepdim: bool = False, out: Any = None
) -> _Array:
    """-sum y log y of y = softmax(z / T) along dim, in nats; exact for confident rows."""

def cross_entropy(
    logits: _Array,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    return_grad: bool = False,
    grad_out: Any = None,
) -> Any:
    """PyTorch's F.cross_entropy (class indices or probabilities), fused with its gradient:
    the loss, or (loss, grad) with return_grad=True or grad_out (which may be logits itself)."""

def kl_div_distill(
    student: _Array, teacher: _Array, temperature: float = 1.0, *, return_grad: bool = False,
    grad_out: Any = None
) -> Any:
    """T^2/N sum KL(softmax(t/T) || softmax(s/T)); with return_grad, also (T/N)(ps - pt)."""

def scaled_dot_product_attention(
    query: _Array,
    key: _Array,
    value: _Array,
    attn_mask: Optional[_Array] = None,
    is_causal: bool = False,
    scale: Optional[float] = None,
    enable_gqa: bool = False,
    *,
    causal_alignment: str = "top_left",
    softcap: Optional[float] = None,
    sinks: Optional[_Array] = None,
    alibi_slopes: Optional[_Array] = None,
    return_lse: bool = False,
    out: Any = None,
) -> Any:
    """softmax(scale q k^T + bias) v with an online softmax (no score matrix): the output, or
    (out, lse) with return_lse=True."""

def scaled_dot_product_attention_backward(
    grad_out: _Array,
    query: _Array,
    key: _Array,
    value: _Array,
    out: _Array,
    lse: _Array,
    attn_mask: Optional[_Array] = None,
    is_causal: bool = False,
    scale: Optional[float] = None,
    enable_gqa: bool = False,
    *,
    causal_alignment: str = "top_left",
    softcap: Optional[float] = None,
    sinks: Optional[_Array] = None,
    alibi_slopes: Optional[_Array] = None,
) -> Tuple[Any, Any, Any]:
    """(dq, dk, dv) of scaled_dot_product_attention from its out and lse."""

def sample(
    logits: _Array,
    *,
    temperature: Any = 1.0,
    top_k: Any = None,
    top_p: Any = None,
    min_p: Any = None,
    seed: int,
    step: int = 0,
    row_ids: Any = None,
    return_logprobs: bool = False,
) -> Any:
    """One token id per row: temperature, top-k, top-p, min-p (each one value or one per row),
    Philox keyed on (seed, row id, step); with return_logprobs, (tokens, logprobs, raw_logprobs)."""

def top_k_top_p_filter(
    logits: _Array,
    *,
    top_k: Any = None,
    top_p: Any = None,
    min_p: Any = None,
    temperature: Any = 1.0,
    output: str = "probs",
    out: Any = None,
) -> Any:
    """sample's filtered distribution: probabilities (0 where removed) or logits/T (-inf)."""

def gumbel_max(
    logits: _Array, *, temperature: Any = 1.0, seed: int, step: int = 0, row_ids: Any = None
) -> Any:
    """argmax(logits / T + Gumbel noise) per row: a draw from softmax(logits / T)."""

def gumbel_softmax(
    logits: _Array,
    tau: Any = 1.0,
    hard: bool = False,
    *,
    seed: int,
    step: int = 0,
    row_ids: Any = None,
    out: Any = None,
) -> Any:
    """softmax((logits + Gumbel noise) / tau) per row, or its one-hot argmax with hard=True."""

def set_num_threads(n: int) -> None:
    """Threads smx may use; 0 restores the default (SMX_NUM_THREADS or every core)."""

def get_num_threads() -> int: ...
def simd_target() -> str:
    """The SIMD target chosen at run time on this CPU, e.g. "AVX3", "AVX2", "SSE4"."""

def compiled_targets() -> list[str]: ...
