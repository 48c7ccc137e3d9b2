// Internal to src/config: the one way to make a Config (used by the loader and by defaults()).
#pragma once

#include <map>
#include <string>

#include "config/config.hpp"

namespace picket::config::detail {

class ConfigBuilder {
 public:
  // `from_file` maps a path to the value the file gave; every other key takes the profile's default.
  static Config build(const Schema& schema, Profile p, std::string source,
                      std::map<std::string, Value, std::less<>> from_file);
};

}  // namespace picket::config::detail
