#include "gateway/app/mappings.h"

#include "adapters/hl7v2/path.h"

namespace helsebro::app {

Result<std::shared_ptr<const mapping::MappingSet>> load_mappings(const std::string& dir) {
  static const hl7v2::PathDialect kHl7v2;
  return mapping::MappingSet::load(dir, {{"hl7v2", &kHl7v2}});
}

}  // namespace helsebro::app
