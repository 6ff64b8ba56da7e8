#include "prep/upload.h"

#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

namespace ichnet::prep {

torch::Tensor upload(const torch::Tensor& host, torch::Device device) {
  if (!device.is_cuda()) return host;
  const c10::impl::VirtualGuardImpl streams(device.type());
  const c10::Stream compute = streams.getStream(device);
  const c10::Stream side = streams.getStreamFromGlobalPool(device);
  torch::Tensor out;
  {
    const c10::StreamGuard on_side(side);
    // The pinned staging buffer is kept alive by LibTorch's pinned-memory allocator until the
    // copy that reads it has finished.
    out = host.contiguous().pin_memory().to(device, /*non_blocking=*/true);
  }
  c10::Event copied(device.type());
  copied.record(side);
  copied.block(compute);
  // Allocated on the side stream but read on the compute stream: the caching allocator must not
  // hand the memory out again until the compute stream is done with it.
  out.record_stream(compute);
  return out;
}

}  // namespace ichnet::prep
