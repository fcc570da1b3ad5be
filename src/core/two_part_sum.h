// Sums carried as two doubles, hi + lo (lo: the rounding errors so far), added together in a
// fixed order: the partial sums of chunks, lanes or threads merged without losing what each
// one compensated.
#ifndef SMX_CORE_TWO_PART_SUM_H_
#define SMX_CORE_TWO_PART_SUM_H_

namespace smx::internal {

// hi + lo += s_hi + s_lo, the rounding of hi + s_hi kept in lo (Knuth's TwoSum).
inline void AddTwoPart(double& hi, double& lo, double s_hi, double s_lo) {
  const double t = hi + s_hi;
  const double bb = t - hi;
  lo += (hi - (t - bb)) + (s_hi - bb) + s_lo;
  hi = t;
}

}  // namespace smx::internal

#endif  // SMX_CORE_TWO_PART_SUM_H_
