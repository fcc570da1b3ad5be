// The whole public API of smx.
#ifndef SMX_SMX_H_
#define SMX_SMX_H_

#include "smx/runtime.h"
#include "smx/softmax.h"
#include "smx/status.h"
#include "smx/tensor.h"

#endif  // SMX_SMX_H_
