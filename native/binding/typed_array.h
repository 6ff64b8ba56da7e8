#pragma once
// Element memory of a JS typed array, whatever buffer holds it.
#include <napi.h>

#include <string>

namespace ichnet::binding {

/// A typed array's first element, whether its memory is an ArrayBuffer or a SharedArrayBuffer (the
/// loader's batches are the latter: its decode workers write into them). napi_get_typedarray_info
/// gives the element pointer for both; Napi::TypedArray::ArrayBuffer() refuses a shared buffer.
/// Throws a TypeError naming `path` when the memory cannot be read.
inline void* typedArrayData(const Napi::TypedArray& arr, const std::string& path) {
  void* data = nullptr;
  if (napi_get_typedarray_info(arr.Env(), arr, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok ||
      (data == nullptr && arr.ElementLength() > 0)) {
    throw Napi::TypeError::New(arr.Env(), path + ": cannot read the typed array's memory");
  }
  return data;
}

}  // namespace ichnet::binding
