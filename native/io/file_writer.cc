#include "io/file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace ichnet::io {

FileWriter::FileWriter(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int error = errno;
    throw std::runtime_error(path_ + ": cannot create file (" + std::strerror(error) + ")");
  }
}

FileWriter::~FileWriter() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
}

void FileWriter::fail(const std::string& what, int error) {
  throw std::runtime_error(path_ + ": " + what + " (" + std::strerror(error) + ")");
}

int FileWriter::append(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return ENOSPC;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

void FileWriter::write(const void* data, size_t size) {
  if (fd_ < 0) throw std::logic_error(path_ + ": write after commit");
  if (const int error = append(data, size)) fail("write failed", error);
}

std::function<size_t(const void*, size_t)> FileWriter::sink() {
  return [this](const void* data, size_t size) -> size_t {
    if (deferred_errno_ == 0 && fd_ >= 0) deferred_errno_ = append(data, size);
    return size;
  };
}

void FileWriter::commit() {
  if (deferred_errno_ != 0) fail("write failed", deferred_errno_);
  if (::fsync(fd_) != 0 && errno != EINVAL) fail("write failed", errno);  // EINVAL: a pipe or such
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("write failed", errno);
  committed_ = true;
}

void writeFile(const std::string& path, const std::string& text) {
  FileWriter out(path);
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace ichnet::io
