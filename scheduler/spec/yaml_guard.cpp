#include "scheduler/spec/yaml_guard.hpp"

#include <vector>

#include "fmt/format.h"

namespace ctflow::spec {

namespace {

struct Open {
  char ch;
  size_t line, col;
};

size_t indent_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i;
}

// True when the rest of the line from `i` is blank or a comment.
bool rest_is_blank(std::string_view line, size_t i) {
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i == line.size() || line[i] == '#';
}

// Where the value of a block line starts: after "- " items and after the first "key:" (colon
// followed by a space or the end), outside quotes. npos when the line holds no value start.
size_t value_start(std::string_view line) {
  size_t i = indent_of(line);
  while (i + 1 < line.size() && line[i] == '-' && line[i + 1] == ' ') {
    i += 2;
    while (i < line.size() && line[i] == ' ') ++i;
  }
  if (i < line.size() && (line[i] == '[' || line[i] == '{')) return i;
  char quote = 0;
  for (size_t j = i; j < line.size(); ++j) {
    char c = line[j];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if ((c == '"' || c == '\'') && j == i)
      quote = c;
    else if (c == '#' && (j == 0 || line[j - 1] == ' '))
      return std::string_view::npos;
    else if (c == ':' && (j + 1 == line.size() || line[j + 1] == ' ')) {
      size_t k = j + 1;
      while (k < line.size() && line[k] == ' ') ++k;
      return k < line.size() ? k : std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

// True when every line before `ln` is blank, a comment or a document marker.
bool rest_is_blank_before(const std::vector<std::string_view>& lines, size_t ln) {
  for (size_t k = 0; k < ln; ++k)
    if (!rest_is_blank(lines[k], 0) && lines[k].substr(0, 3) != "---") return false;
  return true;
}

}  // namespace

std::optional<std::string> check_flow_brackets(std::string_view text) {
  std::vector<Open> stack;
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  std::optional<size_t> block_scalar_indent;  // inside a | or > scalar of a line this indented
  char quote = 0;                             // inside a quoted scalar in flow context
  bool root_flow = false;                     // the document itself is a flow collection
  bool root_closed = false;  // ... and it has ended: only blank lines and comments may follow
  for (size_t ln = 0; ln < lines.size(); ++ln) {
    std::string_view line = lines[ln];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t pos = 0;
    if (stack.empty() && !quote) {
      size_t ind = indent_of(line);
      bool blank = ind == line.size();
      if (root_closed) {
        if (rest_is_blank(line, 0)) continue;
        return fmt::format("line {}, column {}: malformed YAML: text after the end of the document",
                           ln + 1, ind + 1);
      }
      if (block_scalar_indent) {
        if (blank || ind > *block_scalar_indent) continue;
        block_scalar_indent.reset();
      }
      pos = value_start(line);
      if (pos == std::string_view::npos) continue;
      char first = line[pos];
      if (first == '|' || first == '>') {
        block_scalar_indent = ind;
        continue;
      }
      if (first != '[' && first != '{') continue;
      if (pos == ind && !root_flow && rest_is_blank_before(lines, ln)) root_flow = true;
    }
    for (size_t i = pos; i < line.size(); ++i) {
      char c = line[i];
      if (quote) {
        if (quote == '"' && c == '\\')
          ++i;
        else if (c == quote) {
          if (quote == '\'' && i + 1 < line.size() && line[i + 1] == '\'')
            ++i;
          else
            quote = 0;
        }
        continue;
      }
      if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '#' && i > 0 && (line[i - 1] == ' ' || line[i - 1] == '\t')) {
        break;  // a comment runs to the end of the line
      } else if (c == '[' || c == '{') {
        stack.push_back({c, ln + 1, i + 1});
      } else if (c == ']' || c == '}') {
        char want = c == ']' ? '[' : '{';
        if (stack.empty() || stack.back().ch != want) {
          return fmt::format(
              "line {}, column {}: malformed YAML: '{}' does not close {}", ln + 1, i + 1, c,
              stack.empty() ? std::string("anything")
                            : fmt::format("the '{}' at line {}, column {}", stack.back().ch,
                                          stack.back().line, stack.back().col));
        }
        stack.pop_back();
        if (stack.empty()) {  // back in block context: only a comment may follow on this line
          if (!rest_is_blank(line, i + 1))
            return fmt::format("line {}, column {}: malformed YAML: text after the closing '{}'",
                               ln + 1, i + 2, c);
          if (root_flow) root_closed = true;
          break;
        }
      }
    }
  }
  if (!stack.empty())
    return fmt::format("line {}, column {}: malformed YAML: '{}' is never closed",
                       stack.back().line, stack.back().col, stack.back().ch);
  return std::nullopt;
}

}  // namespace ctflow::spec
