#pragma once
// The message of the exception being handled, for errors that reach JavaScript or name a cause.
#include <string>

#include <c10/util/Exception.h>

namespace ichnet {

/// The message of the exception being handled (call inside a catch block), without LibTorch's C++
/// backtrace.
inline std::string describeCurrentException() {
  try {
    throw;
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown native error";
  }
}

}  // namespace ichnet
