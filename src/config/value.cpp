#include "config/value.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/ip_address.hpp"

namespace picket::config::detail {
namespace {

constexpr size_t kMaxQuotedChars = 60;  // longer user text is cut in messages

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

core::Result<Value> parse_boolean(std::string_view text, bool quoted) {
  if (!quoted) {
    if (iequals(text, "true") || iequals(text, "yes")) return Value{true};
    if (iequals(text, "false") || iequals(text, "no")) return Value{false};
  }
  return core::make_error(fmt::format("expected a boolean (true/false/yes/no), got {}{}",
                                      quoted ? "the quoted string " : "", quote_for_message(text)));
}

core::Result<Value> parse_integer(std::string_view text, bool quoted) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  bool negative = false;
  if (!digits.empty() && digits.front() == '-') {
    negative = true;
    digits.remove_prefix(1);
  }
  if (quoted || !all_digits(digits)) {
    return core::make_error(fmt::format("expected an integer, got {}{}", quoted ? "the quoted string " : "",
                                        quote_for_message(text)));
  }
  std::string_view signed_text = text.substr(text.size() - digits.size() - (negative ? 1 : 0));
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(signed_text.data(), signed_text.data() + signed_text.size(), n);
  if (ec != std::errc{} || ptr != signed_text.data() + signed_text.size()) {
    return core::make_error(fmt::format("integer out of range: {}", quote_for_message(text)));
  }
  return Value{n};
}

core::Result<Value> parse_number(std::string_view text, bool quoted) {
  std::string_view body = text;
  if (!body.empty() && body.front() == '+') body.remove_prefix(1);
  // from_chars also reads "inf", "nan" and hex floats; a threshold is none of those.
  bool plain = !body.empty();
  for (char c : body) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+')) plain = false;
  }
  double d = 0;
  if (plain && !quoted) {
    auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
    if (ec == std::errc{} && ptr == body.data() + body.size() && std::isfinite(d)) return Value{d};
  }
  return core::make_error(fmt::format("expected a number, got {}{}", quoted ? "the quoted string " : "",
                                      quote_for_message(text)));
}

// Seconds as the file would spell them, for range messages ("must be at most 1h").
std::string format_seconds(double s) {
  if (s >= 0 && s <= 9e9 && std::floor(s * 1e6) == s * 1e6) {
    return core::format_duration(core::Duration{static_cast<int64_t>(std::llround(s * 1e9))});
  }
  return fmt::format("{}s", s);
}

std::string format_bound(ParamType t, double b) {
  switch (t) {
    case ParamType::integer:
      // INT64_MAX is stored as 2^63, which does not convert back to int64_t.
      if (b >= 0x1p63) return fmt::format("{}", INT64_MAX);
      if (b < -0x1p63) return fmt::format("{}", INT64_MIN);
      return fmt::format("{}", static_cast<int64_t>(b));
    case ParamType::duration:
      return format_seconds(b);
    default:
      return fmt::format("{}", b);
  }
}

std::string yaml_quote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

}  // namespace

bool holds_type(ParamType t, const Value& v) {
  switch (t) {
    case ParamType::boolean: return std::holds_alternative<bool>(v);
    case ParamType::integer: return std::holds_alternative<int64_t>(v);
    case ParamType::number: return std::holds_alternative<double>(v);
    case ParamType::string:
    case ParamType::choice: return std::holds_alternative<std::string>(v);
    case ParamType::duration: return std::holds_alternative<core::Duration>(v);
    case ParamType::string_list:
    case ParamType::address_list:
    case ParamType::port_list: return std::holds_alternative<std::vector<std::string>>(v);
  }
  return false;
}

bool is_list(ParamType t) {
  return t == ParamType::string_list || t == ParamType::address_list || t == ParamType::port_list;
}

core::Result<Value> parse_scalar(ParamType t, std::string_view text, bool quoted) {
  switch (t) {
    case ParamType::boolean: return parse_boolean(text, quoted);
    case ParamType::integer: return parse_integer(text, quoted);
    case ParamType::number: return parse_number(text, quoted);
    case ParamType::string:
    case ParamType::choice: return Value{std::string(text)};
    case ParamType::duration: {
      // Quoting a duration is harmless ("10m" and 10m mean the same), so both are accepted.
      if (auto d = core::parse_duration(text)) return Value{*d};
      return core::make_error(fmt::format(
          "expected a duration such as 300s, 10m, 250ms or a number of seconds, got {}", quote_for_message(text)));
    }
    case ParamType::string_list:
    case ParamType::address_list:
    case ParamType::port_list: break;
  }
  return core::make_error(fmt::format("expected a list, got {}", quote_for_message(text)));
}

std::optional<std::pair<uint16_t, uint16_t>> parse_port_entry(std::string_view text) {
  auto one = [](std::string_view s) -> std::optional<uint16_t> {
    if (!all_digits(s) || s.size() > 5) return std::nullopt;
    unsigned n = 0;
    std::from_chars(s.data(), s.data() + s.size(), n);
    if (n > 65535) return std::nullopt;
    return static_cast<uint16_t>(n);
  };
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    auto p = one(text);
    if (!p) return std::nullopt;
    return std::pair{*p, *p};
  }
  auto lo = one(text.substr(0, dash));
  auto hi = one(text.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return std::pair{*lo, *hi};
}

core::Result<std::string> normalise_entry(ParamType list_type, std::string_view text) {
  if (list_type == ParamType::address_list) {
    // Prefix::parse reads through a C string, so an embedded NUL would cut the text short.
    if (text.find('\0') != std::string_view::npos || text.empty()) {
      return core::make_error(fmt::format("not an IP address or CIDR prefix: {}", quote_for_message(text)));
    }
    if (auto p = core::Prefix::parse(text)) {
      if (text.find('/') == std::string_view::npos) return p->address().to_string();
      return p->to_string();
    }
    if (auto masked = core::Prefix::parse(text, /*allow_host_bits=*/true)) {
      return core::make_error(fmt::format("{} has bits set past the prefix length (did you mean {}?)",
                                          quote_for_message(text), masked->to_string()));
    }
    return core::make_error(fmt::format("not an IP address or CIDR prefix: {}", quote_for_message(text)));
  }
  if (list_type == ParamType::port_list) {
    auto r = parse_port_entry(text);
    if (!r) {
      return core::make_error(fmt::format("expected a port (0-65535) or a range such as 1000-2000, got {}",
                                          quote_for_message(text)));
    }
    if (r->first == r->second) return fmt::format("{}", r->first);
    return fmt::format("{}-{}", r->first, r->second);
  }
  return std::string(text);
}

core::Result<void> check_constraints(const ParamDecl& d, const Value& v) {
  auto range = [&](double x, std::string got) -> core::Result<void> {
    if (d.min && x < *d.min) {
      return core::make_error(fmt::format("must be at least {} (got {})", format_bound(d.type, *d.min), got));
    }
    if (d.max && x > *d.max) {
      return core::make_error(fmt::format("must be at most {} (got {})", format_bound(d.type, *d.max), got));
    }
    return {};
  };
  switch (d.type) {
    case ParamType::integer: {
      const int64_t n = std::get<int64_t>(v);
      return range(static_cast<double>(n), fmt::format("{}", n));
    }
    case ParamType::number: {
      const double x = std::get<double>(v);
      return range(x, fmt::format("{}", x));
    }
    case ParamType::duration: {
      const auto dur = std::get<core::Duration>(v);
      return range(dur.to_seconds(), core::format_duration(dur));
    }
    case ParamType::choice: {
      const auto& s = std::get<std::string>(v);
      for (const auto& c : d.choices) {
        if (c == s) return {};
      }
      return core::make_error(
          fmt::format("must be one of {} (got {})", fmt::join(d.choices, ", "), quote_for_message(s)));
    }
    case ParamType::string_list:
    case ParamType::address_list:
    case ParamType::port_list: {
      const size_t n = std::get<std::vector<std::string>>(v).size();
      if (d.max && static_cast<double>(n) > *d.max) {
        return core::make_error(fmt::format("must have at most {} entries (got {})", *d.max, n));
      }
      if (d.min && static_cast<double>(n) < *d.min) {
        return core::make_error(fmt::format("must have at least {} entries (got {})", *d.min, n));
      }
      return {};
    }
    case ParamType::boolean:
    case ParamType::string: break;
  }
  return {};
}

core::Result<void> check_declared(const ParamDecl& d, Value& v) {
  if (d.type == ParamType::number && std::holds_alternative<int64_t>(v)) {
    v = static_cast<double>(std::get<int64_t>(v));
  }
  if (!holds_type(d.type, v)) {
    return core::make_error(fmt::format("value is not of type {}", param_type_name(d.type)));
  }
  if (d.type == ParamType::number && !std::isfinite(std::get<double>(v))) {
    return core::make_error("value is not a finite number");
  }
  if (d.type == ParamType::duration) {
    const auto dur = std::get<core::Duration>(v);
    const auto back = core::parse_duration(core::format_duration(dur));
    if (!back || *back != dur) {
      return core::make_error(fmt::format("duration {} cannot be written in the file's syntax",
                                          core::format_duration(dur)));
    }
  }
  if (is_list(d.type)) {
    for (auto& entry : std::get<std::vector<std::string>>(v)) {
      auto norm = normalise_entry(d.type, entry);
      if (!norm) return core::make_error(norm.error().message);
      entry = std::move(norm.value());
    }
  }
  return check_constraints(d, v);
}

std::string format_yaml(const Value& v) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t n) const { return fmt::format("{}", n); }
    std::string operator()(double x) const { return fmt::format("{}", x); }
    std::string operator()(const std::string& s) const { return yaml_quote(s); }
    std::string operator()(core::Duration d) const { return core::format_duration(d); }
    std::string operator()(const std::vector<std::string>& list) const {
      std::string out = "[";
      for (size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += ", ";
        out += yaml_quote(list[i]);
      }
      out += ']';
      return out;
    }
  };
  return std::visit(Visitor{}, v);
}

std::string describe_constraints(const ParamDecl& d) {
  switch (d.type) {
    case ParamType::integer:
    case ParamType::number:
    case ParamType::duration:
      if (d.min && d.max) return fmt::format("{} .. {}", format_bound(d.type, *d.min), format_bound(d.type, *d.max));
      if (d.min) return fmt::format("at least {}", format_bound(d.type, *d.min));
      if (d.max) return fmt::format("at most {}", format_bound(d.type, *d.max));
      return "";
    case ParamType::choice:
      return fmt::format("one of: {}", fmt::join(d.choices, ", "));
    case ParamType::string_list:
    case ParamType::address_list:
    case ParamType::port_list:
      if (d.max) return fmt::format("at most {} entries", *d.max);
      return "";
    case ParamType::boolean:
    case ParamType::string: break;
  }
  return "";
}

std::string quote_for_message(std::string_view text) {
  std::string out = "'";
  size_t shown = 0;
  for (char ch : text) {
    if (shown == kMaxQuotedChars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
    ++shown;
  }
  out += '\'';
  return out;
}

}  // namespace picket::config::detail
