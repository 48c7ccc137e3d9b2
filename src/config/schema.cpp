#include "config/schema.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "config/value.hpp"

namespace picket::config {
namespace {

constexpr std::string_view kProfileKey = "profile";  // the one top-level key that is not a parameter

bool valid_segment(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

void check_path(std::string_view path) {
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const auto seg = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!valid_segment(seg)) {
      throw std::logic_error(fmt::format("config schema: malformed path '{}' (segments are [a-z0-9_]+)", path));
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (path == kProfileKey || path.starts_with("profile.")) {
    throw std::logic_error(fmt::format("config schema: path '{}' uses the reserved top-level key 'profile'", path));
  }
}

// "a.b" is a proper section prefix of "a.b.c".
bool is_section_of(std::string_view section, std::string_view path) {
  return path.size() > section.size() && path.starts_with(section) && path[section.size()] == '.';
}

void check_value_or_throw(const ParamDecl& d, Value& v, std::string_view what) {
  auto ok = detail::check_declared(d, v);
  if (!ok) {
    throw std::logic_error(fmt::format("config schema: {} of '{}': {}", what, d.path, ok.error().message));
  }
}

std::vector<std::string> to_strings(std::initializer_list<std::string_view> list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto s : list) out.emplace_back(s);
  return out;
}

}  // namespace

std::optional<Profile> parse_profile(std::string_view text) {
  for (Profile p : kAllProfiles) {
    if (profile_name(p) == text) return p;
  }
  return std::nullopt;
}

std::string_view profile_name(Profile p) {
  switch (p) {
    case Profile::normal: return "normal";
    case Profile::aggressive: return "aggressive";
    case Profile::paranoid: return "paranoid";
  }
  return "normal";
}

std::string_view param_type_name(ParamType t) {
  switch (t) {
    case ParamType::boolean: return "boolean";
    case ParamType::integer: return "integer";
    case ParamType::number: return "number";
    case ParamType::string: return "string";
    case ParamType::duration: return "duration";
    case ParamType::string_list: return "string list";
    case ParamType::choice: return "choice";
    case ParamType::address_list: return "address list";
    case ParamType::port_list: return "port list";
  }
  return "?";
}

const Value& ParamDecl::profile_default(Profile p) const {
  if (p == Profile::aggressive && aggressive) return *aggressive;
  if (p == Profile::paranoid && paranoid) return *paranoid;
  return default_value;
}

void Schema::add(ParamDecl decl) {
  check_path(decl.path);
  if (index_.contains(decl.path)) {
    throw std::logic_error(fmt::format("config schema: '{}' declared twice", decl.path));
  }
  for (const auto& other : params_) {
    if (is_section_of(other.path, decl.path) || is_section_of(decl.path, other.path)) {
      throw std::logic_error(
          fmt::format("config schema: '{}' and '{}' make one path both a key and a section", other.path, decl.path));
    }
  }
  if (decl.min && decl.max && *decl.min > *decl.max) {
    throw std::logic_error(fmt::format("config schema: '{}' has min > max", decl.path));
  }
  if (decl.type == ParamType::choice && decl.choices.empty()) {
    throw std::logic_error(fmt::format("config schema: choice '{}' has no choices", decl.path));
  }
  check_value_or_throw(decl, decl.default_value, "default");
  if (decl.aggressive) check_value_or_throw(decl, *decl.aggressive, "aggressive override");
  if (decl.paranoid) check_value_or_throw(decl, *decl.paranoid, "paranoid override");
  index_.emplace(decl.path, params_.size());
  params_.push_back(std::move(decl));
}

const ParamDecl* Schema::find(std::string_view path) const {
  auto it = index_.find(path);
  return it == index_.end() ? nullptr : &params_[it->second];
}

void Schema::set_override(size_t index, Profile p, Value v) {
  if (index >= params_.size()) throw std::logic_error("config schema: stale parameter handle");
  ParamDecl& d = params_[index];
  check_value_or_throw(d, v, fmt::format("{} override", profile_name(p)));
  switch (p) {
    case Profile::normal: d.default_value = std::move(v); break;
    case Profile::aggressive: d.aggressive = std::move(v); break;
    case Profile::paranoid: d.paranoid = std::move(v); break;
  }
}

ParamHandle& ParamHandle::aggressive(Value v) {
  schema_->set_override(index_, Profile::aggressive, std::move(v));
  return *this;
}

ParamHandle& ParamHandle::paranoid(Value v) {
  schema_->set_override(index_, Profile::paranoid, std::move(v));
  return *this;
}

ParamHandle& ParamHandle::aggressive(std::initializer_list<std::string_view> list) {
  return aggressive(Value{to_strings(list)});
}

ParamHandle& ParamHandle::paranoid(std::initializer_list<std::string_view> list) {
  return paranoid(Value{to_strings(list)});
}

SchemaSection SchemaSection::section(std::string_view name) const { return {*schema_, full_path(name)}; }

std::string SchemaSection::full_path(std::string_view name) const {
  if (prefix_.empty()) return std::string(name);
  return fmt::format("{}.{}", prefix_, name);
}

ParamHandle SchemaSection::add(ParamDecl decl) {
  schema_->add(std::move(decl));
  return {*schema_, schema_->params().size() - 1};
}

ParamHandle SchemaSection::boolean(std::string_view name, bool def, std::string help, std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::boolean;
  d.help = std::move(help);
  d.default_value = def;
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

ParamHandle SchemaSection::integer(std::string_view name, int64_t def, int64_t min, int64_t max, std::string help,
                                   std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::integer;
  d.help = std::move(help);
  d.default_value = def;
  d.min = static_cast<double>(min);
  d.max = static_cast<double>(max);
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

ParamHandle SchemaSection::number(std::string_view name, double def, double min, double max, std::string help,
                                  std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::number;
  d.help = std::move(help);
  d.default_value = def;
  d.min = min;
  d.max = max;
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

ParamHandle SchemaSection::string(std::string_view name, std::string def, std::string help, std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::string;
  d.help = std::move(help);
  d.default_value = std::move(def);
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

ParamHandle SchemaSection::duration(std::string_view name, core::Duration def, core::Duration min, core::Duration max,
                                    std::string help, std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::duration;
  d.help = std::move(help);
  d.default_value = def;
  d.min = min.to_seconds();
  d.max = max.to_seconds();
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

ParamHandle SchemaSection::string_list(std::string_view name, std::vector<std::string> def, size_t max_entries,
                                       std::string help, std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::string_list;
  d.help = std::move(help);
  d.default_value = std::move(def);
  d.max = static_cast<double>(max_entries);
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

ParamHandle SchemaSection::choice(std::string_view name, std::string def, std::vector<std::string> choices,
                                  std::string help, std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::choice;
  d.help = std::move(help);
  d.default_value = std::move(def);
  d.choices = std::move(choices);
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

ParamHandle SchemaSection::address_list(std::string_view name, std::vector<std::string> def, size_t max_entries,
                                        std::string help, std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::address_list;
  d.help = std::move(help);
  d.default_value = std::move(def);
  d.max = static_cast<double>(max_entries);
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

ParamHandle SchemaSection::port_list(std::string_view name, std::vector<std::string> def, size_t max_entries,
                                     std::string help, std::string seed_note) {
  ParamDecl d;
  d.path = full_path(name);
  d.type = ParamType::port_list;
  d.help = std::move(help);
  d.default_value = std::move(def);
  d.max = static_cast<double>(max_entries);
  d.seed_note = std::move(seed_note);
  return add(std::move(d));
}

}  // namespace picket::config
