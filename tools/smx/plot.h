// smx plot: pictures of softmax's mathematics, as SVG (for a browser) or as Unicode bars (for a
// terminal). Each plot kind has its own file (plot_temperature.cc, plot_jacobian.cc,
// plot_sigmoid.cc, plot_entropy.cc); every number they show comes from the library, through the
// calls below (plot_data.cc).
#ifndef SMX_TOOLS_PLOT_H_
#define SMX_TOOLS_PLOT_H_

#include <span>
#include <string>
#include <vector>

namespace smx_cli {

// The command line of `smx plot KIND`, checked (plot_command.cc).
struct PlotArgs {
  std::vector<double> logits;        // z: finite or -inf, at least one finite
  std::vector<double> temperatures;  // -T: temperature's list; jacobian's one value
  double range_min = 0;              // --range: sigmoid's z1 - z2, entropy's T
  double range_max = 0;
  bool term = false;  // --term: text instead of SVG
  int width = 80;     // --width: the columns of the text
};

// Each returns the whole output: the SVG document, or with args.term the text.
std::string PlotTemperature(const PlotArgs& args);
std::string PlotJacobian(const PlotArgs& args);
std::string PlotSigmoid(const PlotArgs& args);
std::string PlotEntropy(const PlotArgs& args);

// The library's results, in f64; a failure is a RuntimeError with the library's message.
std::vector<double> SoftmaxOf(std::span<const double> z, double temperature);
double EntropyOf(std::span<const double> z, double temperature);
// J = (diag(p) - p p^T)/T, K x K in row-major order.
std::vector<double> JacobianOf(std::span<const double> z, double temperature);
// softmax of each row of `rows` (rows.size() / columns rows), in one call.
std::vector<double> SoftmaxRowsOf(std::span<const double> rows, std::size_t columns);
std::vector<double> SigmoidOf(std::span<const double> x);

}  // namespace smx_cli

#endif  // SMX_TOOLS_PLOT_H_
