// smx_peers_bench: smx against oneDNN, XNNPACK, Eigen and a plain copy, in one process.
//
//   smx_peers_bench [--shapes 4096x1000,...] [--threads 1,2] [--rounds N] [--min-batch-ms MS]
//   smx_peers_bench --accuracy CASES   (outputs of every implementation on the cases, see below)
//
// Timing: for each shape and thread count, every implementation (and the copy) is warmed up and
// given a batch size (calls that last at least --min-batch-ms); then --rounds rounds each run one
// batch of every implementation, the order rotated by one each round, so a change in clock speed or
// in the neighbours' load hits all alike. The figure is the median over the rounds of the batch's
// ns per element; `ratio` divides it by the copy's median of the same group. A single-threaded
// peer (Eigen) is measured at 1 thread and repeated, marked, at higher thread counts (with the
// ratio to the 1-thread copy it was timed beside).
//
// Output: one JSON object per line; "kind" is "info", "timing" or "accuracy".
//
// Accuracy input (written by bench/peers/golden.py): per case a line `ID OP T ROWS COLS` then a
// line of ROWS*COLS numbers (strtod syntax, inf and nan included). smx gets T itself; the peers
// get z/T computed in double and rounded to float, and skip T = 0, which they cannot express.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "peer_kernels.h"

namespace smx_peers {
namespace {

struct Shape {
  std::size_t rows;
  std::size_t cols;
  std::string Name() const { return std::to_string(rows) + "x" + std::to_string(cols); }
};

struct Options {
  std::vector<Shape> shapes = {{4096, 1000}, {512, 32000},  {16, 128256},
                               {32768, 128}, {1, 16777216}, {2048, 8192}};
  std::vector<int> threads = {1, 2};
  int rounds = 21;
  double min_batch_seconds = 0.04;
  std::string accuracy_file;
};

// Untimed pause before each batch: XNNPACK's pthreadpool workers spin for milliseconds after a
// batch (5 ms was not always enough at 2 threads).
constexpr std::chrono::milliseconds kSettle{20};

// One timed implementation of a group.
struct Entry {
  std::string impl;
  Op op;
  Runner run;
  std::string note;
  bool is_copy = false;
  int calls = 1;
  std::vector<double> ns_per_call;  // one per round
};

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
  return parts;
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument("missing value after " + name);
    const std::string value = argv[++i];
    if (name == "--shapes") {
      options.shapes.clear();
      for (const std::string& s : Split(value, ',')) {
        const std::size_t x = s.find('x');
        if (x == std::string::npos) throw std::invalid_argument("bad shape " + s);
        options.shapes.push_back({std::stoul(s.substr(0, x)), std::stoul(s.substr(x + 1))});
      }
    } else if (name == "--threads") {
      options.threads.clear();
      for (const std::string& t : Split(value, ',')) options.threads.push_back(std::stoi(t));
    } else if (name == "--rounds") {
      options.rounds = std::max(1, std::stoi(value));
    } else if (name == "--min-batch-ms") {
      options.min_batch_seconds = std::stod(value) * 1e-3;
    } else if (name == "--accuracy") {
      options.accuracy_file = value;
    } else {
      throw std::invalid_argument("unknown option " + name);
    }
  }
  return options;
}

double SecondsOf(const Runner& run, int calls) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void PrintInfo(const std::string& key, const std::string& value) {
  std::printf("{\"kind\":\"info\",\"process\":\"cpp\",\"key\":%s,\"value\":%s}\n",
              JsonString(key).c_str(), JsonString(value).c_str());
}

void PrintTiming(const Entry& e, const Shape& shape, int threads, double ns, double copy_ns,
                 int rounds, bool single_threaded) {
  std::printf(
      "{\"kind\":\"timing\",\"process\":\"cpp\",\"impl\":%s,\"op\":\"%s\",\"variant\":\"out\","
      "\"shape\":\"%s\",\"threads\":%d,\"ns_per_element\":%.5g,\"copy_ns_per_element\":%.5g,"
      "\"ratio\":%.4g,\"rounds\":%d,\"single_threaded\":%s,\"note\":%s}\n",
      JsonString(e.impl).c_str(), e.is_copy ? "copy" : OpName(e.op), shape.Name().c_str(), threads,
      ns, copy_ns, ns / copy_ns, rounds, single_threaded ? "true" : "false",
      JsonString(e.note).c_str());
}

// Normal(0, 3) logits, like `smx bench`.
void FillLogits(float* values, std::size_t count) {
  std::mt19937_64 generator(20240611);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (std::size_t i = 0; i < count; ++i) values[i] = normal(generator);
}

void TimeGroup(std::vector<Entry>& entries, const Options& options) {
  for (Entry& e : entries) {
    e.run();  // warm-up: caches, page tables, thread pools
    const double once = std::max(SecondsOf(e.run, 1), 1e-9);
    e.calls = std::max(1, static_cast<int>(std::ceil(options.min_batch_seconds / once)));
  }
  // Each round in a new order (a fixed seed): a rotation would keep every entry behind the same
  // neighbour, and at 2 threads XNNPACK's pthreadpool workers were measured still spinning 5 ms
  // after their batch, taking a core from whatever came next (smx's log_softmax after XNNPACK's
  // softmax: 0.18-0.38 ns/element against 0.12 alone on 4096x1000).
  std::mt19937 shuffle(12345);
  std::vector<std::size_t> order(entries.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  for (int round = 0; round < options.rounds; ++round) {
    std::shuffle(order.begin(), order.end(), shuffle);
    for (std::size_t k : order) {
      Entry& e = entries[k];
      // Untimed: lets the previous implementation's spinning pool threads (OpenMP,
      // pthreadpool) go to sleep, so that they do not take a core from this batch.
      std::this_thread::sleep_for(kSettle);
      e.ns_per_call.push_back(SecondsOf(e.run, e.calls) * 1e9 / e.calls);
    }
  }
}

void RunBenchmarks(const Options& options, bool have_xnnpack) {
  const char* xnnpack_note = "SSE2 kernels (Debian's 2022 XNNPACK build on this CPU)";
  for (const Shape& shape : options.shapes) {
    const std::size_t n = shape.rows * shape.cols;
    Buffer x(n), y(n);
    FillLogits(x.data(), n);
    std::vector<Entry> single_threaded;  // measured at 1 thread, repeated at the others
    double single_copy_ns = 0;
    PrintInfo("onednn_impl_" + shape.Name(), OneDnnImplementation(shape.rows, shape.cols));
    for (int threads : options.threads) {
      std::vector<Entry> entries;
      auto add = [&](std::string impl, Op op, Runner run, std::string note, bool is_copy = false) {
        if (run)
          entries.push_back({std::move(impl), op, std::move(run), std::move(note), is_copy, 1, {}});
      };
      add("copy", Op::kSoftmax, MakeCopy(x.data(), y.data(), n, threads), "memcpy", true);
      for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
        add("smx", op, MakeSmx(op, x.data(), y.data(), shape.rows, shape.cols, threads), "");
        add("onednn", op, MakeOneDnn(op, x.data(), y.data(), shape.rows, shape.cols, threads), "");
        if (have_xnnpack) {
          add("xnnpack", op, MakeXnnpack(op, x.data(), y.data(), shape.rows, shape.cols, threads),
              xnnpack_note);
        }
        if (threads == 1) {
          add("eigen", op, MakeEigen(op, x.data(), y.data(), shape.rows, shape.cols),
              "single-threaded");
        }
      }
      TimeGroup(entries, options);
      double copy_ns = 0;
      for (const Entry& e : entries) {
        if (e.is_copy) copy_ns = Median(e.ns_per_call) / static_cast<double>(n);
      }
      for (const Entry& e : entries) {
        if (e.is_copy) continue;
        PrintTiming(e, shape, threads, Median(e.ns_per_call) / n, copy_ns, options.rounds, false);
        if (threads == 1 && e.impl == "eigen") single_threaded.push_back(e);
      }
      if (threads == 1) {
        single_copy_ns = copy_ns;
      } else {
        for (Entry& e : single_threaded) {  // compared with the copy of the group it ran in
          e.note = "single-threaded: the 1-thread figure";
          PrintTiming(e, shape, threads, Median(e.ns_per_call) / n, single_copy_ns, options.rounds,
                      true);
        }
      }
      PrintTiming({"copy", Op::kSoftmax, {}, "memcpy", true, 1, {}}, shape, threads, copy_ns,
                  copy_ns, options.rounds, false);
      std::fflush(stdout);
    }
  }
}

// --- accuracy -------------------------------------------------------------------------------

struct Case {
  std::string id;
  Op op;
  double temperature;
  std::size_t rows, cols;
  std::vector<float> z;
};

std::vector<Case> ReadCases(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<Case> cases;
  std::string header, data;
  while (std::getline(in, header) && std::getline(in, data)) {
    std::istringstream h(header);
    Case c;
    std::string op, temperature;
    h >> c.id >> op >> temperature >> c.rows >> c.cols;
    c.op = op == "softmax" ? Op::kSoftmax : Op::kLogSoftmax;
    c.temperature = std::strtod(temperature.c_str(), nullptr);
    std::istringstream d(data);
    for (std::string v; d >> v;) c.z.push_back(std::strtof(v.c_str(), nullptr));
    if (c.z.size() != c.rows * c.cols) throw std::runtime_error("bad case " + c.id);
    cases.push_back(std::move(c));
  }
  return cases;
}

void PrintOutputs(const std::string& impl, const Case& c, const float* y) {
  std::string values;
  char number[64];
  for (std::size_t i = 0; i < c.z.size(); ++i) {
    std::snprintf(number, sizeof number, "%s\"%a\"", i == 0 ? "" : ",", static_cast<double>(y[i]));
    values += number;
  }
  std::printf(
      "{\"kind\":\"accuracy\",\"process\":\"cpp\",\"impl\":%s,\"op\":\"%s\",\"id\":%s,"
      "\"out\":[%s]}\n",
      JsonString(impl).c_str(), OpName(c.op), JsonString(c.id).c_str(), values.c_str());
}

void RunAccuracy(const Options& options, bool have_xnnpack) {
  for (const Case& c : ReadCases(options.accuracy_file)) {
    const std::size_t n = c.z.size();
    Buffer x(std::max<std::size_t>(n, 1)), scaled(std::max<std::size_t>(n, 1)),
        y(std::max<std::size_t>(n, 1));
    std::copy(c.z.begin(), c.z.end(), x.data());
    for (std::size_t i = 0; i < n; ++i) {
      scaled.data()[i] = static_cast<float>(static_cast<double>(c.z[i]) / c.temperature);
    }
    MakeSmx(c.op, x.data(), y.data(), c.rows, c.cols, 1, c.temperature)();
    PrintOutputs("smx", c, y.data());
    if (c.temperature == 0 || n == 0) continue;  // the peers have no hardmax (and no empty rows)
    const std::vector<std::pair<std::string, Runner>> peers = {
        {"onednn", MakeOneDnn(c.op, scaled.data(), y.data(), c.rows, c.cols, 1)},
        {"xnnpack",
         have_xnnpack ? MakeXnnpack(c.op, scaled.data(), y.data(), c.rows, c.cols, 1) : Runner()},
        {"eigen", MakeEigen(c.op, scaled.data(), y.data(), c.rows, c.cols)}};
    for (const auto& [impl, run] : peers) {
      if (!run) continue;
      run();
      PrintOutputs(impl, c, y.data());
    }
  }
}

}  // namespace
}  // namespace smx_peers

int main(int argc, char** argv) {
  using namespace smx_peers;
  try {
    const Options options = ParseOptions(argc, argv);
    const bool have_xnnpack = InitXnnpack();
    PrintInfo("smx", SmxDescription());
    PrintInfo("onednn", OneDnnVersion());
    PrintInfo("xnnpack", have_xnnpack ? "initialised; softmax uses SSE2 kernels on this CPU"
                                      : "xnn_initialize failed: skipped");
    PrintInfo("eigen", EigenDescription());
    PrintInfo("hardware_threads", std::to_string(std::thread::hardware_concurrency()));
    if (!options.accuracy_file.empty()) {
      RunAccuracy(options, have_xnnpack);
    } else {
      RunBenchmarks(options, have_xnnpack);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smx_peers_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
