#include "prep/slice_index.h"

#include <algorithm>

namespace ichnet::prep {

SliceIndex validSlices(const torch::Tensor& lengths, int64_t slices) {
  SliceIndex idx;
  const auto* len = lengths.data_ptr<int64_t>();
  for (int64_t b = 0; b < lengths.size(0); ++b) {
    for (int64_t s = 0; s < len[b]; ++s) {
      idx.self.push_back(b * slices + s);
      idx.prev.push_back(b * slices + std::max<int64_t>(s - 1, 0));
      idx.next.push_back(b * slices + std::min<int64_t>(s + 1, len[b] - 1));
      idx.patient.push_back(b);
    }
  }
  return idx;
}

}  // namespace ichnet::prep
