// smx::Status: the one error path of the public API.
//
// Every public function returns a Status; no exception crosses the API, so engines built with
// -fno-exceptions can use smx. An error carries a code and a message that names the bad value:
//
//   smx::Status s = smx::softmax(x, y, {.temperature = -1.0});
//   if (!s.ok()) std::fprintf(stderr, "%s\n", s.message().c_str());
//   // "temperature must be >= 0 (0 is the argmax limit), got -1"
#ifndef SMX_STATUS_H_
#define SMX_STATUS_H_

#include <string>
#include <utility>

namespace smx {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // a bad value, shape, axis, stride or dtype
  kInternal = 2,         // a broken invariant inside smx (please report it)
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace smx

#endif  // SMX_STATUS_H_
