// The library calls behind every number `smx plot` shows.
#include <cstdint>

#include "cli_error.h"
#include "plot.h"
#include "smx/smx.hpp"

namespace smx_cli {
namespace {

void Check(const smx::Status& status) {
  if (!status.ok()) throw RuntimeError(status.message());
}

std::int64_t Size(std::size_t n) { return static_cast<std::int64_t>(n); }

}  // namespace

std::vector<double> SoftmaxOf(std::span<const double> z, double temperature) {
  std::vector<double> p(z.size());
  Check(smx::softmax(z, std::span<double>(p), {.temperature = temperature}));
  return p;
}

double EntropyOf(std::span<const double> z, double temperature) {
  double h = 0;
  const smx::TensorView<const double> in(z.data(), {Size(z.size())});
  Check(smx::entropy(in, smx::TensorView<double>(&h, {1}), {.temperature = temperature}));
  return h;
}

std::vector<double> JacobianOf(std::span<const double> z, double temperature) {
  const std::int64_t k = Size(z.size());
  std::vector<double> j(z.size() * z.size());
  const smx::TensorView<const double> in(z.data(), {k});
  Check(smx::softmax_jacobian(in, smx::TensorView<double>(j.data(), {k, k}),
                              {.temperature = temperature}));
  return j;
}

std::vector<double> SoftmaxRowsOf(std::span<const double> rows, std::size_t columns) {
  std::vector<double> p(rows.size());
  Check(smx::softmax(rows.data(), p.data(), rows.size() / columns, columns));
  return p;
}

std::vector<double> SigmoidOf(std::span<const double> x) {
  std::vector<double> y(x.size());
  Check(smx::sigmoid(x, std::span<double>(y)));
  return y;
}

}  // namespace smx_cli
