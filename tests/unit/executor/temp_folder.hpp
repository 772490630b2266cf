#pragma once
// A folder under the temporary directory, removed with everything in it at the end of the test.
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace ctflow::test {

struct TempFolder {
  std::filesystem::path dir;
  explicit TempFolder(const std::string& prefix) {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    dir = ::mkdtemp(tmpl.data());
  }
  ~TempFolder() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  std::string str() const { return dir.string(); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace ctflow::test
