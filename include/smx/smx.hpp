// The whole C++ API of smx. (smx/smx.h is the C API.)
#ifndef SMX_SMX_HPP_
#define SMX_SMX_HPP_

#include "smx/attention.h"
#include "smx/calculus.h"
#include "smx/losses.h"
#include "smx/runtime.h"
#include "smx/sampling.h"
#include "smx/sigmoid.h"
#include "smx/softmax.h"
#include "smx/status.h"
#include "smx/tensor.h"

#endif  // SMX_SMX_HPP_
