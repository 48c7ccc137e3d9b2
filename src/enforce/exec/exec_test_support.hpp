// Test helpers for the exec tests: a scratch directory and a recorder script that appends its
// argv to a log file, so tests can check exactly which arguments a command received.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace picket::enforce::exec::test {

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "picket-exec-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes an executable script and returns its path.
  std::string script(const std::string& name, const std::string& body) const {
    const std::string p = file(name);
    std::ofstream(p) << "#!/bin/sh\n" << body;
    chmod(p.c_str(), 0755);
    return p;
  }
  // A script that appends one record per call to `log`: its arguments separated by \x1f, then \x1e.
  // (The script uses sh; picket itself never does.)
  std::string recorder(const std::string& log, const std::string& extra = "") const {
    return script("record.sh", "for a in \"$@\"; do printf '%s\\037' \"$a\" >> '" + log +
                                   "'; done\nprintf '\\036' >> '" + log + "'\n" + extra);
  }
  // Every call's argv (as recorded), in order.
  static std::vector<std::vector<std::string>> calls(const std::string& log) {
    std::ifstream in(log, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string all = ss.str();
    std::vector<std::vector<std::string>> out;
    std::vector<std::string> cur;
    std::string arg;
    for (char c : all) {
      if (c == '\x1f') {
        cur.push_back(arg);
        arg.clear();
      } else if (c == '\x1e') {
        out.push_back(cur);
        cur.clear();
      } else {
        arg += c;
      }
    }
    return out;
  }

 private:
  std::string path_;
};

}  // namespace picket::enforce::exec::test
