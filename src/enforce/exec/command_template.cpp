#include "enforce/exec/command_template.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "enforce/enforcer.hpp"

namespace picket::enforce::exec {

namespace {

constexpr size_t kMaxTargetText = 64;
constexpr size_t kMaxReason = 200;
constexpr size_t kMaxDetector = 64;

std::string sanitize_reason(std::string_view in) {
  std::string out;
  out.reserve(in.size() < kMaxReason ? in.size() : kMaxReason);
  for (char c : in) {
    if (out.size() == kMaxReason) break;
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  return out;
}

std::string_view proto_name(uint8_t p) { return p == 6 ? "tcp" : p == 17 ? "udp" : ""; }

}  // namespace

bool is_safe_detector_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxDetector || name.front() == '-') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

core::Result<std::string> canonical_prefix_text(const core::Prefix& p) {
  if (p.address().empty()) return core::make_error("the target has no address");
  std::string text = p.to_string();
  for (char c : text) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '.' || c == ':' || c == '/';
    if (!ok) return core::make_error(fmt::format("target text {:?} has an unexpected character", text));
  }
  auto back = core::Prefix::parse(text);
  if (!back || !(*back == p)) return core::make_error(fmt::format("target text {:?} does not round-trip", text));
  return text;
}

core::Result<core::Prefix> parse_target(std::string_view text) {
  auto refuse = [&](std::string_view why) {
    std::string shown(text.substr(0, kMaxTargetText));
    return core::make_error(fmt::format("target {:?}{}: {}", shown, text.size() > kMaxTargetText ? "..." : "", why));
  };
  if (text.empty()) return refuse("empty");
  if (text.size() > kMaxTargetText) return refuse("longer than 64 characters");
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return refuse("contains whitespace, a control character or NUL");
  }
  auto p = core::Prefix::parse(text);
  if (!p) return refuse("not an IPv4/IPv6 address or prefix (without host bits)");
  if (auto canon = canonical_prefix_text(*p); !canon) return refuse(canon.error().message);
  return *p;
}

core::Result<CommandTemplate> CommandTemplate::parse(std::string_view verb, const std::vector<std::string>& args) {
  static constexpr std::array<std::pair<std::string_view, Field>, 12> kNames = {{
      {"address", Field::address}, {"ip", Field::ip}, {"prefix", Field::prefix}, {"length", Field::length},
      {"family", Field::family}, {"duration", Field::duration}, {"detector", Field::detector},
      {"reason", Field::reason}, {"offence", Field::offence}, {"port", Field::port}, {"proto", Field::proto},
      {"rate", Field::rate},
  }};
  CommandTemplate t;
  t.verb_ = std::string(verb);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto fail = [&](std::string_view why) {
      return core::make_error(fmt::format("{}: argument {} {:?}: {}", verb, i + 1, a, why));
    };
    if (a.find('\0') != std::string::npos) return fail("contains a NUL byte");
    Arg arg;
    std::string lit;
    for (size_t k = 0; k < a.size(); ++k) {
      const char c = a[k];
      if (c == '{' && k + 1 < a.size() && a[k + 1] == '{') {
        lit += '{';
        ++k;
      } else if (c == '}' && k + 1 < a.size() && a[k + 1] == '}') {
        lit += '}';
        ++k;
      } else if (c == '}') {
        return fail("unmatched '}' (write }} for a literal brace)");
      } else if (c == '{') {
        const size_t end = a.find('}', k);
        if (end == std::string::npos) return fail("unclosed '{' (write {{ for a literal brace)");
        const std::string_view name = std::string_view(a).substr(k + 1, end - k - 1);
        Field f = Field::literal;
        for (const auto& [n, field] : kNames) {
          if (n == name) f = field;
        }
        if (f == Field::literal) return fail(fmt::format("unknown placeholder {{{}}}", name));
        if (!lit.empty()) arg.push_back(Piece{Field::literal, std::exchange(lit, {})});
        arg.push_back(Piece{f, {}});
        k = end;
      } else {
        lit += c;
      }
    }
    if (!lit.empty() || arg.empty()) arg.push_back(Piece{Field::literal, std::move(lit)});
    if (i == 0 && (arg.size() != 1 || arg[0].field != Field::literal || arg[0].text.empty())) {
      return fail("the program must be a plain, non-empty name or path");
    }
    t.parts_.push_back(std::move(arg));
  }
  return t;
}

core::Result<std::vector<std::string>> CommandTemplate::render(const core::Decision& d) const {
  auto fail = [&](std::string_view why) {
    return core::make_error(fmt::format("{}: {}: {}", verb_, describe_decision(d), why));
  };
  if (parts_.empty()) return fail("no command configured");
  auto canon = canonical_prefix_text(d.target);
  if (!canon) return fail(canon.error().message);
  const std::string& prefix = *canon;
  const std::string ip = prefix.substr(0, prefix.find('/'));
  const bool uses_detector = [&] {
    for (const auto& arg : parts_) {
      for (const auto& p : arg) {
        if (p.field == Field::detector) return true;
      }
    }
    return false;
  }();
  if (uses_detector && !is_safe_detector_name(d.detector)) {
    return fail(fmt::format("detector name {:?} is not [A-Za-z0-9_.-] (1..64, no leading '-')",
                            d.detector.substr(0, kMaxDetector)));
  }
  std::vector<std::string> out;
  out.reserve(parts_.size());
  for (const auto& arg : parts_) {
    std::string s;
    for (const auto& p : arg) {
      switch (p.field) {
        case Field::literal: s += p.text; break;
        case Field::address: s += d.target.is_host() ? ip : prefix; break;
        case Field::ip: s += ip; break;
        case Field::prefix: s += prefix; break;
        case Field::length: s += std::to_string(d.target.length()); break;
        case Field::family: s += d.target.address().is_v4() ? "ipv4" : "ipv6"; break;
        case Field::duration: s += std::to_string(d.duration.whole_seconds()); break;
        case Field::detector: s += d.detector; break;
        case Field::reason: s += sanitize_reason(d.reason); break;
        case Field::offence: s += std::to_string(d.offence); break;
        case Field::port: s += std::to_string(d.port); break;
        case Field::proto: s += proto_name(d.proto); break;
        case Field::rate: s += std::to_string(d.rate_per_second); break;
      }
    }
    const bool template_is_option = arg.front().field == Field::literal && !arg.front().text.empty() &&
                                    arg.front().text.front() == '-';
    if (!template_is_option && !s.empty() && s.front() == '-') {
      return fail(fmt::format("argument {} would start with '-' after substitution ({:?})", out.size() + 1,
                              s.substr(0, 64)));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace picket::enforce::exec
