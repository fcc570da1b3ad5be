// The attention tests' reference (attention_support.h).
#include "attention_support.h"

#include <cmath>
#include <limits>

namespace smx_test {

Result Reference(const Case& c) {
  Result r;
  r.out.assign(static_cast<std::size_t>(c.batch * c.heads * c.lq * c.dv), 0);
  r.lse.assign(static_cast<std::size_t>(c.batch * c.heads * c.lq), -kInf);
  const ld scale = c.scale ? ld(*c.scale) : 1 / std::sqrt(ld(c.d));
  const std::int64_t group = c.heads / c.kv_heads;
  for (std::int64_t b = 0; b < c.batch; ++b) {
    for (std::int64_t h = 0; h < c.heads; ++h) {
      const std::int64_t kvh = h / group;
      for (std::int64_t i = 0; i < c.lq; ++i) {
        std::vector<ld> s(static_cast<std::size_t>(c.lk));
        std::vector<bool> on(static_cast<std::size_t>(c.lk), true);
        ld m = c.sinks.empty() ? -kInf : ld(c.sinks[h]);
        for (std::int64_t j = 0; j < c.lk; ++j) {
          ld dot = 0;
          for (std::int64_t e = 0; e < c.d; ++e) {
            dot += ld(c.q[((b * c.heads + h) * c.lq + i) * c.d + e]) *
                   ld(c.k[((b * c.kv_heads + kvh) * c.lk + j) * c.d + e]);
          }
          ld v = c.d > 0 ? scale * dot : 0;
          if (c.softcap > 0) v = ld(c.softcap) * std::tanh(v / ld(c.softcap));
          if (!c.slopes.empty()) v -= ld(c.slopes[h]) * std::fabs(ld(i + c.lk - c.lq - j));
          if (c.mask_kind == 2) {
            const ld a = c.MaskAt(b, h, i, j);
            if (a == -kInf) on[j] = false;
            v += a;
          } else if (c.mask_kind == 1) {
            on[j] = c.MaskAt(b, h, i, j) != 0;
          }
          if (c.causal && j > i + (c.lower_right ? c.lk - c.lq : 0)) on[j] = false;
          s[j] = v;
          if (on[j] && v > m) m = v;
        }
        if (m == -kInf) continue;  // nothing attended: O = 0, lse = -inf
        ld l = c.sinks.empty() ? 0 : std::exp(ld(c.sinks[h]) - m);
        std::vector<ld> o(static_cast<std::size_t>(c.dv), 0);
        for (std::int64_t j = 0; j < c.lk; ++j) {
          if (!on[j]) continue;
          const ld p = std::exp(s[j] - m);
          l += p;
          for (std::int64_t e = 0; e < c.dv; ++e) {
            o[e] += p * ld(c.v[((b * c.kv_heads + kvh) * c.lk + j) * c.dv + e]);
          }
        }
        const std::size_t row = static_cast<std::size_t>((b * c.heads + h) * c.lq + i);
        for (std::int64_t e = 0; e < c.dv; ++e) r.out[row * c.dv + e] = o[e] / l;
        r.lse[row] = m + std::log(l);
      }
    }
  }
  return r;
}

Gradients ReferenceBackward(const Case& c, const std::vector<double>& grad_out) {
  const Result fwd = Reference(c);
  Gradients g;
  g.dq.assign(c.q.size(), 0);
  g.dk.assign(c.k.size(), 0);
  g.dv.assign(c.v.size(), 0);
  const ld scale = c.scale ? ld(*c.scale) : 1 / std::sqrt(ld(c.d));
  const std::int64_t group = c.heads / c.kv_heads;
  for (std::int64_t b = 0; b < c.batch; ++b) {
    for (std::int64_t h = 0; h < c.heads; ++h) {
      const std::int64_t kvh = h / group;
      for (std::int64_t i = 0; i < c.lq; ++i) {
        const std::size_t row = static_cast<std::size_t>((b * c.heads + h) * c.lq + i);
        const ld lse = fwd.lse[row];
        if (lse == -kInf) continue;
        ld delta = 0;
        for (std::int64_t e = 0; e < c.dv; ++e) {
          delta += ld(grad_out[row * c.dv + e]) * fwd.out[row * c.dv + e];
        }
        for (std::int64_t j = 0; j < c.lk; ++j) {
          const std::size_t key = static_cast<std::size_t>((b * c.kv_heads + kvh) * c.lk + j);
          ld dot = 0;
          for (std::int64_t e = 0; e < c.d; ++e) {
            dot += ld(c.q[row * c.d + e]) * ld(c.k[key * c.d + e]);
          }
          const ld u = c.d > 0 ? scale * dot : 0;
          ld v = u, dtanh = 1;
          if (c.softcap > 0) {
            const ld t = std::tanh(u / ld(c.softcap));
            v = ld(c.softcap) * t;
            dtanh = 1 - t * t;
          }
          if (!c.slopes.empty()) v -= ld(c.slopes[h]) * std::fabs(ld(i + c.lk - c.lq - j));
          bool on = true;
          if (c.mask_kind == 2) {
            const ld a = c.MaskAt(b, h, i, j);
            on = a != -kInf;
            v += a;
          } else if (c.mask_kind == 1) {
            on = c.MaskAt(b, h, i, j) != 0;
          }
          if (c.causal && j > i + (c.lower_right ? c.lk - c.lq : 0)) on = false;
          if (!on) continue;
          const ld p = std::exp(v - lse);
          ld dp = 0;
          for (std::int64_t e = 0; e < c.dv; ++e) {
            dp += ld(grad_out[row * c.dv + e]) * ld(c.v[key * c.dv + e]);
            g.dv[key * c.dv + e] += p * ld(grad_out[row * c.dv + e]);
          }
          const ld ds = p * (dp - delta) * dtanh;
          for (std::int64_t e = 0; e < c.d; ++e) {
            g.dq[row * c.d + e] += scale * ds * ld(c.k[key * c.d + e]);
            g.dk[key * c.d + e] += scale * ds * ld(c.q[row * c.d + e]);
          }
        }
      }
    }
  }
  return g;
}

std::vector<double> Normal(std::mt19937_64& rng, std::size_t n, double sd) {
  std::normal_distribution<double> nd(0, sd);
  std::vector<double> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

void FillInputs(Case& c, std::mt19937_64& rng) {
  c.q = Normal(rng, static_cast<std::size_t>(c.batch * c.heads * c.lq * c.d), 1);
  c.k = Normal(rng, static_cast<std::size_t>(c.batch * c.kv_heads * c.lk * c.d), 1);
  c.v = Normal(rng, static_cast<std::size_t>(c.batch * c.kv_heads * c.lk * c.dv), 1);
}

}  // namespace smx_test
