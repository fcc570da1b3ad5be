// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
// SC'11), the counter-based generator that cuRAND, JAX and PyTorch's CUDA sampling use: ten
// rounds of a keyed bijection of a 128-bit counter. Any (key, counter) is one independent draw, so
// a row's numbers depend on its own seed, row id and step and on nothing else.
#ifndef SMX_SAMPLING_PHILOX_H_
#define SMX_SAMPLING_PHILOX_H_

#include <array>
#include <cstdint>

namespace smx::internal {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

inline PhiloxCounter Philox4x32(PhiloxCounter c, PhiloxKey k) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t{kMul0} * c[0];
    const std::uint64_t p1 = std::uint64_t{kMul1} * c[2];
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32),
                        lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32),
                        lo1 = static_cast<std::uint32_t>(p1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kWeyl0;
    k[1] += kWeyl1;
  }
  return c;
}

// A double in [0, 1) from 53 random bits.
inline double UniformFromBits(std::uint32_t a, std::uint32_t b) {
  const std::uint64_t bits = (std::uint64_t{a >> 5} << 26) | (b >> 6);
  return static_cast<double>(bits) * 0x1p-53;
}

// A double in (0, 1), never 0 or 1 (so that log(-log u) is finite): (2k + 1) 2^-53 for 52
// random bits k.
inline double OpenUniformFromBits(std::uint32_t a, std::uint32_t b) {
  const std::uint64_t bits = (std::uint64_t{a >> 6} << 26) | (b >> 6);
  return static_cast<double>(2 * bits + 1) * 0x1p-53;
}

// The random numbers of one row at one step: Philox keyed on the seed, counter (call, step,
// row id). Draw n is lanes 2(n % 2), 2(n % 2) + 1 of call n / 2.
class RowRandom {
 public:
  RowRandom(std::uint64_t seed, std::uint64_t row_id, std::uint32_t step)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        step_(step),
        row_lo_(static_cast<std::uint32_t>(row_id)),
        row_hi_(static_cast<std::uint32_t>(row_id >> 32)) {}

  // The words of call `call` (its counter's first word).
  PhiloxCounter Words(std::uint32_t call) const {
    return Philox4x32({call, step_, row_lo_, row_hi_}, key_);
  }
  double Uniform(std::uint32_t draw) const {
    const PhiloxCounter w = Words(draw / 2);
    const int lane = 2 * static_cast<int>(draw % 2);
    return UniformFromBits(w[lane], w[lane + 1]);
  }
  // The two numbers in (0, 1) of token pair `pair` (tokens 2 pair and 2 pair + 1) of the
  // per-token stream, whose calls start at kTokenStream: apart from the draws of sample, whose
  // rounds never reach it.
  static constexpr std::uint32_t kTokenStream = 0x80000000u;
  std::array<double, 2> TokenUniforms(std::uint32_t pair) const {
    const PhiloxCounter w = Words(kTokenStream + pair);
    return {OpenUniformFromBits(w[0], w[1]), OpenUniformFromBits(w[2], w[3])};
  }

 private:
  PhiloxKey key_;
  std::uint32_t step_, row_lo_, row_hi_;
};

}  // namespace smx::internal

#endif  // SMX_SAMPLING_PHILOX_H_
