// The two printouts made from the schema: the reference text (`picket config schema`) and an
// example file. Both print values through detail::format_yaml, the spelling the loader reads.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/schema.hpp"
#include "config/value.hpp"

namespace picket::config {
namespace {

std::string section_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

constexpr size_t kLineWidth = 100;  // printouts wrap long help at spaces to stay readable

// `text` with line breaks put at spaces so no line runs past `width` (a longer word stays whole).
std::string wrap(std::string_view text, size_t width) {
  std::string out;
  size_t line_len = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\n') {
      out += '\n';
      line_len = 0;
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n') ++end;
    const size_t word = end - i;
    if (line_len > 0 && line_len + 1 + word > width) {
      out += '\n';
      line_len = 0;
    } else if (line_len > 0) {
      out += ' ';
      ++line_len;
    }
    out.append(text.substr(i, word));
    line_len += word;
    i = end;
    while (i < text.size() && text[i] == ' ') ++i;
  }
  return out;
}

// Each line of `text`, wrapped, prefixed with `indent` (help may span lines).
void append_lines(std::string& out, std::string_view raw, std::string_view indent) {
  const std::string wrapped = wrap(raw, kLineWidth > indent.size() + 20 ? kLineWidth - indent.size() : 20);
  const std::string_view text = wrapped;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = text.find('\n', start);
    const auto line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    out += indent;
    // A stray carriage return would end a YAML comment early; declarations are trusted, but the
    // example file must load back whatever the help says.
    for (char c : line) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    // Strip the trailing blank a "# " prefix leaves before an empty line.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
}

std::string type_and_constraints(const ParamDecl& d) {
  const std::string c = detail::describe_constraints(d);
  return c.empty() ? std::string(param_type_name(d.type)) : fmt::format("{}, {}", param_type_name(d.type), c);
}

// "50 (every profile)" or "normal 50, aggressive 20, paranoid 10".
std::string defaults_line(const ParamDecl& d) {
  const Value& n = d.profile_default(Profile::normal);
  const Value& a = d.profile_default(Profile::aggressive);
  const Value& p = d.profile_default(Profile::paranoid);
  if (n == a && n == p) return fmt::format("{} (every profile)", detail::format_yaml(n));
  return fmt::format("normal {}, aggressive {}, paranoid {}", detail::format_yaml(n), detail::format_yaml(a),
                     detail::format_yaml(p));
}

// Sections in order of first appearance, each with its keys in declaration order.
std::vector<std::pair<std::string, std::vector<const ParamDecl*>>> group(const std::vector<ParamDecl>& params) {
  std::vector<std::pair<std::string, std::vector<const ParamDecl*>>> groups;
  for (const auto& d : params) {
    const std::string s = section_of(d.path);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == s; });
    if (it == groups.end()) {
      groups.emplace_back(s, std::vector<const ParamDecl*>{});
      it = groups.end() - 1;
    }
    it->second.push_back(&d);
  }
  return groups;
}

// The dotted paths as a tree, children in order of first appearance, for nested YAML.
struct Tree {
  std::string name;
  const ParamDecl* leaf = nullptr;
  std::vector<Tree> children;
};

void insert(Tree& root, const ParamDecl& d) {
  Tree* node = &root;
  size_t start = 0;
  while (true) {
    const size_t dot = d.path.find('.', start);
    const std::string seg = d.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    auto it = std::find_if(node->children.begin(), node->children.end(), [&](const Tree& t) { return t.name == seg; });
    if (it == node->children.end()) {
      node->children.push_back(Tree{seg, nullptr, {}});
      it = node->children.end() - 1;
    }
    node = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  node->leaf = &d;
}

void emit(std::string& out, const Tree& node, Profile p, int depth) {
  const std::string indent(static_cast<size_t>(depth) * 2, ' ');
  bool first = true;
  for (const auto& child : node.children) {
    // A blank line between entries, none right under a section's own header.
    if (depth == 0 || !first) out += '\n';
    first = false;
    if (child.leaf == nullptr) {
      out += fmt::format("{}{}:\n", indent, child.name);
      emit(out, child, p, depth + 1);
      continue;
    }
    const ParamDecl& d = *child.leaf;
    append_lines(out, d.help, indent + "# ");
    std::string facts = type_and_constraints(d) + "; default " + defaults_line(d);
    if (!d.seed_note.empty()) facts += "; " + d.seed_note;
    append_lines(out, facts, indent + "# ");
    out += fmt::format("{}{}: {}\n", indent, child.name, detail::format_yaml(d.profile_default(p)));
  }
}

}  // namespace

std::string Schema::describe() const {
  std::string out = fmt::format(
      "picket configuration: {} keys.\n"
      "The file holds nested mappings that follow each dotted path (detect: conn_rate: limit: 20).\n"
      "A top-level `profile:` key selects normal (the default), aggressive or paranoid; a key given\n"
      "in the file wins over the profile's value.\n",
      params_.size());
  for (const auto& [section, decls] : group(params_)) {
    out += fmt::format("\n[{}]\n", section.empty() ? "top level" : section);
    for (const ParamDecl* d : decls) {
      out += fmt::format("  {} ({})\n", d->path, type_and_constraints(*d));
      append_lines(out, d->help, "      ");
      out += fmt::format("      default: {}\n", defaults_line(*d));
      if (!d->seed_note.empty()) append_lines(out, d->seed_note, "      ");
    }
  }
  return out;
}

std::string Schema::example_yaml(Profile p) const {
  std::string out = fmt::format(
      "# picket configuration: every key at the {0} profile's default.\n"
      "# `picket config schema` describes each key. A key left out takes the profile's value,\n"
      "# so a real file need only hold the keys it changes.\n"
      "profile: {0}\n",
      profile_name(p));
  Tree root;
  for (const auto& d : params_) insert(root, d);
  emit(out, root, p, 0);
  return out;
}

}  // namespace picket::config
