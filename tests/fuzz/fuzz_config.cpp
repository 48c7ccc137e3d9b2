// libFuzzer target for the configuration loader: any bytes must give either a Config or a list of
// errors, never a crash, a hang or an exception escaping load_string.
// Links: picket_config (which brings picket_core, yaml-cpp and fmt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"
#include "config/test_schema.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace picket::config;
  static const Schema schema = testing::make_test_schema();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult r = load_string(schema, text, "fuzz.yaml");
  // The contract: a Config exactly when there are no errors, and at most kMaxErrors of them.
  if (r.config.has_value() == !r.errors.empty() || r.errors.size() > kMaxErrors) std::abort();
  for (const auto& e : r.errors) {
    if (e.line < 0 || e.column < 0 || e.to_string().empty()) std::abort();
  }
  if (r.config) {
    // Every key reads back through its typed getter without throwing.
    for (const auto& d : schema.params()) (void)testing::value_of(*r.config, d);
    (void)r.config->prefixes("policy.trusted");
    (void)r.config->ports("detect.port_scan.watched_ports");
  }
  return 0;
}
