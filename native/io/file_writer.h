#pragma once
// Writing files so that every failure (a full disk, a read-only mount, a path that is a directory)
// becomes an exception naming the file and the system's reason, and a failed write leaves nothing
// behind. std::ofstream reports neither the reason nor short writes reliably, and LibTorch's own
// file writer throws from its destructor on a short write (which aborts the process), so the
// addon writes through this class only.
#include <cstddef>
#include <functional>
#include <string>

namespace ichnet::io {

class FileWriter {
 public:
  /// Creates (or truncates) `path` for writing; throws `<path>: cannot create file (<reason>)`.
  explicit FileWriter(std::string path);
  /// Closes and removes the file unless commit() succeeded.
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  /// Appends bytes; throws `<path>: write failed (<reason>)`, e.g. "No space left on device".
  void write(const void* data, size_t size);
  /// Flushes to the disk (fsync) and closes; throws on failure. The file is kept only after this.
  void commit();

  /// A sink for LibTorch's serializers: always reports the bytes as taken (so the serializer's
  /// own bookkeeping never fails inside its destructor), records the first failure, and makes
  /// commit() throw it.
  std::function<size_t(const void*, size_t)> sink();

  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int error);
  /// Writes all of `data`; returns 0 or the errno of the failure.
  int append(const void* data, size_t size);

  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
  int deferred_errno_ = 0;
};

/// Writes `text` to `path` through a FileWriter (created, written, synced, closed).
void writeFile(const std::string& path, const std::string& text);

}  // namespace ichnet::io
