// The help texts.
#include <cstdio>

#include "commands.h"
#include "explain.h"

namespace smx_cli {

void PrintUsage(std::FILE* out) {
  std::fputs(
      "smx: stable softmax, log-softmax and logsumexp at memory speed (and sigmoid,\n"
      "log-sigmoid, softplus)\n"
      "\n"
      "Usage:\n"
      "  smx softmax     [-T T] [--axis A] [options] [-i IN] [-o OUT] [VALUES...]\n"
      "  smx log-softmax [-T T] [--axis A] [options] [-i IN] [-o OUT] [VALUES...]\n"
      "  smx logsumexp            [--axis A] [options] [-i IN] [-o OUT] [VALUES...]\n"
      "  smx sigmoid | log-sigmoid | softplus  [options] [-i IN] [-o OUT] [VALUES...]\n"
      "  smx jacobian    [-T T] [--axis A] [options] [-i IN] [-o OUT] [VALUES...]\n"
      "  smx entropy     [-T T] [--axis A] [options] [-i IN] [-o OUT] [VALUES...]\n"
      "  smx cross-entropy -i LOGITS.npy --target T.npy [options]  loss and gradient\n"
      "  smx attention -q Q.npy -k K.npy -v V.npy [options]  softmax(q k^T / sqrt(d)) v\n"
      "  smx sample -i LOGITS.npy [options]          token ids: temperature, top-k/p, min-p\n"
      "  smx plot KIND [options] [VALUES...]  the math as SVG, or --term bars\n"
      "  smx explain OP [options] [VALUES...]  OP step by step, checked (smx OP --explain)\n"
      "  smx demo [--practice]    worked examples and a short benchmark; or the\n"
      "                           classic practice problems, solved and checked\n"
      "  smx bench [options]      speed against a plain copy of the same bytes\n"
      "  smx info                 version, SIMD targets, threads\n"
      "  smx --version | help | <command> --help\n"
      "\n"
      "Examples:\n"
      "  smx softmax 2 1 0.5               0.6285317192117624 0.23122389762214907 ...\n"
      "  smx softmax -T 0.5 3 1 0          sharper; -T 0 (hardmax), -T inf: the limits\n"
      "  smx log-softmax -1 -inf 2         negative numbers are values, not options\n"
      "  smx softmax --explain 1000 1001 1002\n"
      "  smx logsumexp -i logits.npy -o lse.npy\n"
      "  smx log-sigmoid -100 0 40         -100 -0.6931471805599453 -4.248354255291589e-18\n"
      "  smx jacobian --explain 2 1 0.5    J = diag(p) - p p^T, step by step\n"
      "  smx explain entropy -T 2 5 0 -5   H(softmax(z/T)) step by step\n"
      "  smx cross-entropy -i logits.npy --target labels.npy --grad-out grad.npy\n"
      "  smx attention -q q.npy -k k.npy -v v.npy --causal -o out.npy --lse lse.npy\n"
      "  smx sample -i logits.npy --top-p 0.9 -T 0.7 --seed 1 --explain\n"
      "  smx plot temperature 3 1 0 -T 0.5,1,2,5 -o temperature.svg\n"
      "  printf '1 2 3\\n4 5 6\\n' | smx softmax -i -\n",
      out);
}

void PrintOpUsage(Op op, std::FILE* out) {
  const char* name = OpName(op);
  std::fprintf(out, "Usage: smx %s%s%s [--dtype f32|f64] [--precision N]\n", name,
               TakesTemperature(op) ? " [-T T]" : "", TakesAxis(op) ? " [--axis A]" : "");
  const bool explains = FindExplainer(name) != nullptr;
  std::fprintf(out, "       %*s [-i IN] [-o OUT]%s [VALUES...]\n",
               static_cast<int>(std::string_view(name).size()) + 4, "",
               explains ? " [--explain]" : "");
  std::fputs(
      "\n"
      "VALUES form one row. Negative numbers (-1.5, -inf) are values, not options;\n"
      "'--' ends the options.\n"
      "\n",
      out);
  if (TakesTemperature(op)) {
    std::fputs(
        "  -T, --temperature T  divide the logits by T > 0 (default 1); 0 gives the\n"
        "                       hardmax limit, inf the uniform one\n",
        out);
  }
  if (TakesAxis(op)) {
    std::fputs(
        "  --axis A             the axis to work along (default -1, the last);\n"
        "                       negative counts from the end\n",
        out);
  }
  std::fputs(
      "  --dtype f32|f64      compute dtype of text and .csv input (default f64);\n"
      "                       a .npy file is computed in its own dtype (f16, f32, f64)\n"
      "  --precision N        print N significant digits (default: the fewest that\n"
      "                       read back as the same value)\n"
      "  -i IN                read IN: .npy (C order, any rank), .csv (rows of\n"
      "                       numbers), .txt, or - (text on stdin: a row per line,\n"
      "                       values separated by spaces or commas)\n"
      "  -o OUT               write OUT: .npy (the input's dtype) or .csv;\n"
      "                       default: print a row per line\n",
      out);
  if (explains) {
    std::fprintf(out,
                 "  --explain            show the computation of the first row step by step,\n"
                 "                       checked against smx's result (also: smx explain %s)\n"
                 "  --markdown           with --explain: the steps as Markdown, for notes\n",
                 name);
  }
  std::fputs("  -h, --help           this help\n", out);
  if (!TakesAxis(op)) {
    std::fputs(
        "\nElementwise, exact over the whole range: sigmoid(x) = 1/(1 + exp(-x)),\n"
        "log-sigmoid(x) = -log1p(exp(-x)) (-100 at -100, not -inf), softplus(x) =\n"
        "log1p(exp(x)). The output has the input's shape.\n",
        out);
  }
  if (MatrixPerRow(op)) {
    std::fputs(
        "\njacobian prints J = (diag(p) - p p^T)/T of p = softmax(z/T) for each row:\n"
        "K lines of K values (J[i][j] = dp_i/dz_j); a .npy result has the input's\n"
        "shape without the axis, then K, K. T must be finite and > 0.\n",
        out);
  }
  if (op == Op::kEntropy) {
    std::fputs(
        "\nentropy prints -sum p log p of p = softmax(z/T) in nats for each row, exact\n"
        "for confident rows; T = 0 gives log m (m maxima), T = inf log n.\n",
        out);
  }
  if (ReducesAxis(op)) {
    std::fprintf(out,
                 "\n%s reduces the axis: each row gives one number, printed on its own\n"
                 "line; a .npy result drops the axis.\n",
                 OpName(op));
  }
}

void PrintAttentionUsage(std::FILE* out) {
  std::fputs(
      "Usage: smx attention -q Q.npy -k K.npy -v V.npy [--mask M.npy] [--causal]\n"
      "           [--causal-alignment top_left|lower_right] [--scale S] [--softcap C]\n"
      "           [--gqa] [--sinks S.npy] [--alibi-slopes A.npy] [-o OUT] [--lse LSE]\n"
      "           [--precision N] [--explain [--markdown]]\n"
      "\n"
      "Scaled dot-product attention, softmax(scale q k^T + bias) v, as PyTorch's\n"
      "F.scaled_dot_product_attention, computed with an online softmax (the score\n"
      "matrix is never stored). Q.npy is (L, d), (H, L, d) or (B, H, L, d) in f16, f32\n"
      "or f64; K.npy and V.npy have the same rank and dtype, with their own length\n"
      "(and head count, with --gqa).\n"
      "\n"
      "  --mask M.npy           bool (True attends) or the queries' dtype (added to the\n"
      "                         scores; -inf leaves a key out), broadcast to (B, H, Lq, Lk)\n"
      "  --causal               query i attends keys j <= i (top_left, PyTorch's) or\n"
      "                         j <= i + Lk - Lq (--causal-alignment lower_right)\n"
      "  --scale S              the scores' scale (default 1/sqrt(d))\n"
      "  --softcap C            scores become C tanh(score / C) (Gemma 2)\n"
      "  --gqa                  grouped-query heads: H a multiple of the key heads\n"
      "  --sinks S.npy          one logit per head (H,) added to every row's denominator\n"
      "  --alibi-slopes A.npy   per head (H,): score -= slope |i + Lk - Lq - j|\n"
      "  -o OUT                 write the output (Q's shape with V's last size): .npy or\n"
      "                         .csv; default: print it, one row per line\n"
      "  --lse LSE              write the rows' logsumexp (Q's shape without d; f64 for\n"
      "                         f64 data, else f32): .npy, .csv, or - to print it\n"
      "  --precision N          print N significant digits (default: the fewest that\n"
      "                         read back as the same value)\n"
      "  --explain              show the computation of the first query row step by\n"
      "                         step (its scores, the online softmax a block of keys at\n"
      "                         a time), checked against smx's output (also: smx\n"
      "                         explain attention ...; printed instead of the output)\n"
      "  --markdown             with --explain: the steps as Markdown, for notes\n"
      "\n"
      "A query row with no key left gives 0 (and lse -inf), never NaN.\n",
      out);
}

void PrintSampleUsage(std::FILE* out) {
  std::fputs(
      "Usage: smx sample -i LOGITS.npy [-T T] [--top-k K] [--top-p P] [--min-p Q]\n"
      "           [--seed S] [--step N] [-o TOKENS] [--logprobs FILE]\n"
      "           [--explain [--markdown]]\n"
      "       smx sample -i LOGITS.npy --gumbel [-T T] [--seed S] [--step N] [-o TOKENS]\n"
      "\n"
      "Draws one token id per row of LOGITS.npy ((V,) or (B, V), f16, f32 or f64), as\n"
      "language-model servers do: temperature, then top-k, then top-p over the top-k\n"
      "survivors, then min-p. Ties at a boundary go to the lower index. The random\n"
      "numbers come from Philox keyed on (seed, row, step): the same arguments give\n"
      "the same tokens.\n"
      "\n"
      "  -T, --temperature T    divide the logits by T (default 1; 0 is greedy)\n"
      "  --top-k K              keep the K largest logits (default 0: all)\n"
      "  --top-p P              keep the fewest most probable tokens whose mass reaches\n"
      "                         P, in (0, 1] (default 1: all)\n"
      "  --min-p Q              keep tokens with p >= Q * p_max, in [0, 1] (default 0)\n"
      "  --seed S, --step N     the random stream (default 0; N < 2^32)\n"
      "  -o TOKENS              write the token ids: .npy (int64) or .csv; default: print\n"
      "                         them, one per line\n"
      "  --logprobs FILE        write each token's log-probability under the filtered\n"
      "                         and the unfiltered distribution, (B, 2) f64: .npy, .csv,\n"
      "                         or - to print them\n"
      "  --explain              show the first row's distribution step by step (softmax,\n"
      "                         then each filter), checked against smx's, then its\n"
      "                         surviving tokens and the one drawn (also: smx explain\n"
      "                         sample ...)\n"
      "  --markdown             with --explain: the steps as Markdown, for notes\n"
      "  --gumbel               Gumbel-max instead: argmax(z / T + Gumbel noise), a draw\n"
      "                         from softmax(z / T) that perturbs every logit (no filters)\n"
      "\n"
      "A NaN or +inf logit, or a row of -inf, is an error naming the row.\n",
      out);
}

void PrintCrossEntropyUsage(std::FILE* out) {
  std::fputs(
      "Usage: smx cross-entropy -i LOGITS.npy --target T.npy [--weight W.npy]\n"
      "           [--ignore-index N] [--label-smoothing E] [--reduction none|sum|mean]\n"
      "           [-o LOSS] [--grad-out GRAD] [--explain [--markdown]] [--precision N]\n"
      "\n"
      "The softmax cross-entropy of the logits against the targets, as PyTorch's\n"
      "F.cross_entropy, and its gradient with respect to the logits. LOGITS.npy is f16,\n"
      "f32 or f64 of shape (N, C) or (N, C, d...) (the classes are axis 1), or (C,) for\n"
      "one sample. T.npy holds either class indices (any integer dtype) of the logits'\n"
      "shape without the class axis, or probabilities of the logits' shape and dtype.\n"
      "\n"
      "  -i LOGITS.npy          the logits\n"
      "  --target T.npy         class indices in [0, C), or probabilities\n"
      "  --weight W.npy         a weight per class: shape (C,), the logits' dtype\n"
      "  --ignore-index N       a class-index target equal to N adds no loss and a\n"
      "                         zero gradient row (default -100)\n"
      "  --label-smoothing E    E in [0, 1]: the target becomes (1-E) y + E/C (default 0)\n"
      "  --reduction R          none (a loss per sample), sum, or mean (default): the\n"
      "                         sum over the sum of the targets' weights (class indices)\n"
      "                         or over N (probabilities)\n"
      "  -o LOSS                write the loss: .npy (0-d for sum and mean) or .csv;\n"
      "                         default: print it, one value per line\n"
      "  --grad-out GRAD        write the gradient (the logits' shape and dtype): .npy\n"
      "                         or .csv\n"
      "  --precision N          print N significant digits (default: the fewest that\n"
      "                         read back as the same value)\n"
      "  --explain              show the loss and gradient of the first sample step by\n"
      "                         step, checked against smx's result (printed instead of\n"
      "                         the loss, unless -o is given)\n"
      "  --markdown             with --explain: the steps as Markdown, for notes\n"
      "  -h, --help             this help\n"
      "\n"
      "Nothing is written unless everything succeeds.\n",
      out);
}

void PrintDemoUsage(std::FILE* out) {
  std::fputs(
      "Usage: smx demo [--practice]\n"
      "\n"
      "Worked examples of softmax computed by smx (overflow, temperature, its limits,\n"
      "the sigmoid identity), each checked against its known value, then one\n"
      "benchmark line.\n"
      "\n"
      "  --practice   the classic practice problems instead, solved and checked: the\n"
      "               Jacobian at [1, 0, -1], translation invariance and the K - 1\n"
      "               degrees of freedom, the 2x2 Jacobian and the sigmoid, the\n"
      "               entropies of [2, 2, 2] and [5, 0, -5], and the Hessian of\n"
      "               logsumexp as a covariance (by finite differences, no benchmark)\n"
      "  -h, --help   this help\n"
      "\n"
      "Exits 1 if an example does not hold.\n",
      out);
}

void PrintBenchUsage(std::FILE* out) {
  std::fputs(
      "Usage: smx bench [--shape RxC] [--op OP] [--threads N] [--reps N] [--json]\n"
      "\n"
      "Times smx (f32, last axis) against a plain copy of the same bytes on the same\n"
      "threads, alternating the two, and reports medians. Default: the shapes\n"
      "4096x1000, 512x32000, 16x128256, 32768x128, 1x16777216 and 2048x8192, every\n"
      "op, 1 and 2 threads. softmax-backward reads the saved y and g and writes dz;\n"
      "cross-entropy is the fused loss and gradient with class indices (mean). The\n"
      "copy moves the same bytes as the op; 'extra heap' is the peak heap one call takes.\n"
      "--op attention has its own table: GFLOP/s of the forward pass and of forward +\n"
      "backward on [1, 16, L, d] q, k, v (L 512, 2048, 8192 by d 64, 128; causal and\n"
      "not), and the forward pass's extra heap. --op sample has its own table too:\n"
      "microseconds per smx::sample call with top-k 50, top-p 0.9 and both, beside\n"
      "one softmax of the same logits and a copy (batch 1, 8, 64 by V 32000, 128256,\n"
      "256000).\n"
      "\n"
      "  --shape RxC    one shape (rows x columns) instead of the table's; with\n"
      "                 --op attention, LxD (sequence length x head dim); with\n"
      "                 --op sample, BxV (batch x vocabulary)\n"
      "  --op OP        softmax, log-softmax, logsumexp, softmax-backward,\n"
      "                 cross-entropy (default: those five), attention or sample\n"
      "  --threads N    one thread count (default: 1 and 2, or 1 on a single core)\n"
      "  --reps N       timed batches per measurement, median taken (default 15)\n"
      "  --json         one JSON object per line instead of a table\n",
      out);
}

void PrintPlotUsage(std::FILE* out) {
  std::fputs(
      "Usage: smx plot temperature [-T T1,T2,...] [options] VALUES...\n"
      "       smx plot jacobian [-T T] [options] VALUES...\n"
      "       smx plot sigmoid [--range A,B] [options]\n"
      "       smx plot entropy [--range A,B] [options] VALUES...\n"
      "\n"
      "Pictures of softmax's mathematics, every number computed by smx: an SVG image\n"
      "(any browser shows it) on standard output or in -o FILE.svg, or with --term\n"
      "Unicode bars in the terminal. VALUES are the logits z (finite, or -inf for a\n"
      "masked class); temperature and jacobian take at most 32.\n"
      "\n"
      "  temperature   softmax(z / T) as bars at each T, with its entropy H in nats\n"
      "  jacobian      a heatmap of J = (diag(p) - p p^T) / T, J[i][j] = dp_i/dz_j\n"
      "  sigmoid       softmax([z1, z2])_1 beside sigma(z1 - z2) over z1 - z2: the\n"
      "                two classes' softmax is the sigmoid (the curves coincide)\n"
      "  entropy       H(softmax(z / T)) against T on a log axis, between its limits\n"
      "                log m (T -> 0, m maxima) and log K (T -> inf, K logits)\n"
      "\n"
      "  -T, --temperature T  temperature: a comma-separated list (default\n"
      "                       0.5,1,2,5); 0 gives the hardmax limit, inf the uniform\n"
      "                       one. jacobian: one T, finite and > 0 (default 1)\n"
      "  --range A,B          sigmoid: z1 - z2 from A to B (default -6,6);\n"
      "                       entropy: T from A to B, 0 < A < B (default 0.01,100)\n"
      "  --term               text with Unicode bars instead of SVG\n"
      "  --width N            with --term: the text's columns (default 80)\n"
      "  -o FILE              write the SVG to FILE (.svg), or with --term the text;\n"
      "                       default: standard output\n"
      "  -h, --help           this help\n"
      "\n"
      "Examples:\n"
      "  smx plot temperature 3 1 0 -T 0.5,1,2,5 -o temperature.svg\n"
      "  smx plot jacobian 1 0 -1 --term\n"
      "  smx plot sigmoid --range -10,10 > sigmoid.svg\n"
      "  smx plot entropy 3 3 0 --term --width 60\n"
      "\n"
      "Nothing is written unless everything succeeds.\n",
      out);
}

}  // namespace smx_cli
