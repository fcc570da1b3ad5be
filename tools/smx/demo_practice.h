// smx demo --practice: the classic practice problems on softmax (its Jacobian, translation
// invariance, the two-class case, entropy, the Hessian of logsumexp), each solved with the library
// and checked against an answer found another way.
#ifndef SMX_TOOLS_DEMO_PRACTICE_H_
#define SMX_TOOLS_DEMO_PRACTICE_H_

namespace smx_cli {

// Prints every problem, its worked solution and its checks, then "N of M checks passed". Returns
// kExitOk when every check holds, kExitRuntime otherwise; a library error throws RuntimeError.
int RunPracticeProblems();

}  // namespace smx_cli

#endif  // SMX_TOOLS_DEMO_PRACTICE_H_
