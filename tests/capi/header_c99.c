/* smx/smx.h must compile as strict C99 (-std=c99 -pedantic -Werror) and link from C. */
#include <stdio.h>

#include "smx/smx.h"

int main(void) {
  const float x[2] = {0.0f, 0.0f};
  float y[2];
  smx_status status = smx_softmax_f32(x, y, 1, 2, 1.0);
  printf("%s %g %g\n", smx_status_string(status), (double)y[0], (double)y[1]);
  return status == SMX_OK && y[0] == 0.5f && y[1] == 0.5f ? 0 : 1;
}
