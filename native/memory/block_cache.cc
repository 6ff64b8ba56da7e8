#include "memory/block_cache.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ichnet::memory {

#if defined(__linux__)

namespace {

constexpr size_t kPage = 4096;
/// Requests from this size on are the cache's; smaller ones stay in glibc's heap.
constexpr size_t kMinBlock = size_t{1} << 20;

class BlockCache final : public c10::Allocator {
 public:
  BlockCache(c10::Allocator* fallback, size_t min_block) : fallback_(fallback), min_block_(min_block) {}

  // LibTorch 1.13 declares allocate() const; 2.x declares it non-const and adds a pure virtual
  // copy_data(). Both forms are defined, neither marked override, so that the one the LibTorch
  // being compiled against declares is overridden (and copy_data is merely unused on 1.13).
  c10::DataPtr allocate(size_t n) const { return allocateBlock(n); }
  c10::DataPtr allocate(size_t n) { return allocateBlock(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }

  // Every DataPtr either allocator hands out has its data pointer as its context, so the raw
  // interface (oneDNN's buffers through LibTorch's engine allocator) works: release() tells the
  // cache's blocks from the default allocator's.
  c10::DeleterFnPtr raw_deleter() const override { return &BlockCache::release; }

  void releaseCached() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!kept_.empty()) evictOldest();
    peak_live_ = live_;
  }

  BlockCacheStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {static_cast<int64_t>(min_block_), static_cast<int64_t>(live_), static_cast<int64_t>(cached_),
            static_cast<int64_t>(peak_live_), maps_, unmaps_, reuses_};
  }

  static BlockCache* instance;

 private:
  struct Block {
    void* ptr;
    size_t size;
  };

  c10::DataPtr allocateBlock(size_t n) const {
    if (n < min_block_) return fallback_->allocate(n);
    void* p = const_cast<BlockCache*>(this)->take(n);
    // A block the kernel will not map even with nothing kept: LibTorch's own allocator fails it
    // with its usual error ("can't allocate memory: you tried to allocate …").
    if (p == nullptr) return fallback_->allocate(n);
    return {p, p, &BlockCache::release, c10::Device(c10::DeviceType::CPU)};
  }

  static void release(void* p) {
    if (!instance->giveBack(p)) c10::free_cpu(p);
  }

  void* take(size_t n) {
    const size_t size = (n + kPage - 1) / kPage * kPage;
    std::lock_guard<std::mutex> lock(mutex_);
    // The most recently kept block of this size: the likeliest to be still in the CPU's caches.
    for (auto it = kept_.rbegin(); it != kept_.rend(); ++it) {
      if (it->size != size) continue;
      void* p = it->ptr;
      kept_.erase(std::next(it).base());
      cached_ -= size;
      ++reuses_;
      return adopt(p, size);
    }
    // Nothing to reuse: make room under the bound, twice the peak of live blocks (counting this
    // one), oldest kept blocks first.
    const size_t bound = 2 * std::max(peak_live_, live_ + size);
    while (!kept_.empty() && live_ + cached_ + size > bound) evictOldest();
    void* p = map(size);
    if (p == nullptr) {
      while (!kept_.empty()) evictOldest();
      p = map(size);
    }
    if (p == nullptr) return nullptr;
    ++maps_;
    return adopt(p, size);
  }

  void* adopt(void* p, size_t size) {
    live_ += size;
    peak_live_ = std::max(peak_live_, live_);
    live_blocks_.emplace(p, size);
    return p;
  }

  bool giveBack(void* p) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_blocks_.find(p);
    if (it == live_blocks_.end()) return false;
    const size_t size = it->second;
    live_blocks_.erase(it);
    live_ -= size;
    kept_.push_back({p, size});
    cached_ += size;
    return true;
  }

  void evictOldest() {
    const Block b = kept_.front();
    kept_.pop_front();
    cached_ -= b.size;
    munmap(b.ptr, b.size);
    ++unmaps_;
  }

  /// An anonymous mapping of `size` bytes, or nullptr when the kernel refuses.
  static void* map(size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }

  c10::Allocator* const fallback_;
  const size_t min_block_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, size_t> live_blocks_;
  std::list<Block> kept_;  // oldest first
  size_t live_ = 0;
  size_t cached_ = 0;
  size_t peak_live_ = 0;
  int64_t maps_ = 0;
  int64_t unmaps_ = 0;
  int64_t reuses_ = 0;
};

BlockCache* BlockCache::instance = nullptr;

}  // namespace

bool installBlockCache() {
  static const bool installed = [] {
    const char* opt_out = std::getenv("ICHNET_BLOCK_CACHE");
    if (opt_out != nullptr && std::strcmp(opt_out, "0") == 0) return false;
    // Never deleted: tensors may outlive every session and be freed at exit.
    BlockCache::instance = new BlockCache(c10::GetDefaultCPUAllocator(), kMinBlock);
    c10::SetCPUAllocator(BlockCache::instance);
    return true;
  }();
  return installed;
}

void releaseCachedBlocks() {
  if (BlockCache::instance != nullptr) BlockCache::instance->releaseCached();
}

std::optional<BlockCacheStats> blockCacheStats() {
  if (BlockCache::instance == nullptr) return std::nullopt;
  return BlockCache::instance->stats();
}

#else

bool installBlockCache() { return false; }
void releaseCachedBlocks() {}
std::optional<BlockCacheStats> blockCacheStats() { return std::nullopt; }

#endif

}  // namespace ichnet::memory
