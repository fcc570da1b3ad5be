// The C API of threads and build information (include/smx/smx.h, smx/runtime.h).
#include "smx/runtime.h"
#include "smx/smx.h"

extern "C" {

smx_status smx_set_num_threads(int32_t num_threads) {
  smx::set_num_threads(num_threads);
  return SMX_OK;
}

int32_t smx_get_num_threads(void) { return smx::get_num_threads(); }

const char* smx_version(void) { return smx::version(); }

const char* smx_simd_target(void) { return smx::simd_target(); }

}  // extern "C"
