#include "config/config.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "config/config_builder.hpp"
#include "config/value.hpp"

namespace picket::config {

const Config::Entry& Config::entry(std::string_view path, std::initializer_list<ParamType> accepted) const {
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    throw std::logic_error(fmt::format("config: '{}' is not a declared parameter", path));
  }
  for (ParamType t : accepted) {
    if (it->second.type == t) return it->second;
  }
  throw std::logic_error(
      fmt::format("config: '{}' is a {} parameter, read with the wrong getter", path, param_type_name(it->second.type)));
}

bool Config::boolean(std::string_view path) const {
  return std::get<bool>(entry(path, {ParamType::boolean}).value);
}

int64_t Config::integer(std::string_view path) const {
  return std::get<int64_t>(entry(path, {ParamType::integer}).value);
}

double Config::number(std::string_view path) const {
  const Entry& e = entry(path, {ParamType::number, ParamType::integer});
  if (e.type == ParamType::integer) return static_cast<double>(std::get<int64_t>(e.value));
  return std::get<double>(e.value);
}

const std::string& Config::string(std::string_view path) const {
  return std::get<std::string>(entry(path, {ParamType::string, ParamType::choice}).value);
}

core::Duration Config::duration(std::string_view path) const {
  return std::get<core::Duration>(entry(path, {ParamType::duration}).value);
}

const std::vector<std::string>& Config::list(std::string_view path) const {
  return std::get<std::vector<std::string>>(
      entry(path, {ParamType::string_list, ParamType::address_list, ParamType::port_list}).value);
}

std::vector<core::Prefix> Config::prefixes(std::string_view path) const {
  const auto& texts = std::get<std::vector<std::string>>(entry(path, {ParamType::address_list}).value);
  std::vector<core::Prefix> out;
  out.reserve(texts.size());
  for (const auto& t : texts) {
    // Entries were validated and normalised when loaded, so parsing cannot fail here.
    if (auto p = core::Prefix::parse(t)) out.push_back(*p);
  }
  return out;
}

std::vector<std::pair<uint16_t, uint16_t>> Config::ports(std::string_view path) const {
  const auto& texts = std::get<std::vector<std::string>>(entry(path, {ParamType::port_list}).value);
  std::vector<std::pair<uint16_t, uint16_t>> out;
  out.reserve(texts.size());
  for (const auto& t : texts) {
    if (auto r = detail::parse_port_entry(t)) out.push_back(*r);
  }
  return out;
}

bool Config::is_set_in_file(std::string_view path) const {
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    throw std::logic_error(fmt::format("config: '{}' is not a declared parameter", path));
  }
  return it->second.from_file;
}

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += column > 0 ? fmt::format(":{}:{}", line, column) : fmt::format(":{}", line);
  out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += message;
  return out;
}

Config defaults(const Schema& schema, Profile p) {
  return detail::ConfigBuilder::build(schema, p, fmt::format("built-in profile {}", profile_name(p)), {});
}

namespace detail {

Config ConfigBuilder::build(const Schema& schema, Profile p, std::string source,
                            std::map<std::string, Value, std::less<>> from_file) {
  Config c;
  c.profile_ = p;
  c.source_ = std::move(source);
  for (const auto& d : schema.params()) {
    auto it = from_file.find(d.path);
    const bool in_file = it != from_file.end();
    c.entries_.emplace(d.path, Config::Entry{d.type, in_file ? std::move(it->second) : d.profile_default(p), in_file});
  }
  return c;
}

}  // namespace detail
}  // namespace picket::config
