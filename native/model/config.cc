#include "model/config.h"

#include <stdexcept>

namespace ichnet::model {

RnnKind parseRnnKind(const std::string& name, const char* field) {
  if (name == "lstm") return RnnKind::Lstm;
  if (name == "gru") return RnnKind::Gru;
  if (name == "none") return RnnKind::None;
  throw std::invalid_argument(std::string(field) + ": expected 'lstm', 'gru' or 'none', got '" + name + "'");
}

}  // namespace ichnet::model
