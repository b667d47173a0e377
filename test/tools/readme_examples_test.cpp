// The code blocks of the README and of docs/*.md are regions of complete programs under examples/
// (which CTest builds and runs): each block after a line `<!-- example: PATH REGION -->` must
// equal the lines between `// [REGION]` and `// [/REGION]` in PATH (with their common indentation
// removed), and every region of every example must be shown exactly once, in the README or in one
// of the docs. A page that drifts from the code fails here (`./grove.sh format` copies the regions
// into the pages, tools/sync_doc_examples.py; `./grove.sh format --check` fails on a drift too).
#define BOOST_TEST_MODULE readme_examples
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Removes the indentation that every non-empty line shares.
std::vector<std::string> dedented(std::vector<std::string> lines) {
  std::size_t common = std::string::npos;
  for (const auto& l : lines)
    if (auto first = l.find_first_not_of(' '); first != std::string::npos) common = std::min(common, first);
  if (common == std::string::npos) return lines;
  for (auto& l : lines) l = l.size() >= common ? l.substr(common) : std::string();
  return lines;
}

// Every `// [NAME]` ... `// [/NAME]` region of an example file, dedented.
std::map<std::string, std::string> regions_of(const std::string& path) {
  static const std::regex open(R"(^\s*// \[([a-z_]+)\]\s*$)");
  std::map<std::string, std::string> out;
  auto lines = lines_of(path);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, open)) continue;
    std::string name = m[1];
    std::vector<std::string> body;
    std::size_t j = i + 1;
    for (; j < lines.size() && lines[j].find("// [/" + name + "]") == std::string::npos; ++j) body.push_back(lines[j]);
    BOOST_REQUIRE_MESSAGE(j < lines.size(), path << ": region " << name << " is not closed");
    out[name] = joined(dedented(body));
  }
  return out;
}

using regions_by_file = std::map<std::string, std::map<std::string, std::string>>;  // file -> region -> text

// The README and every docs/*.md, as paths relative to the source root.
std::vector<std::string> pages(const std::string& root) {
  std::vector<std::string> out{"README.md"};
  for (const auto& entry : std::filesystem::directory_iterator(root + "/docs"))
    if (entry.path().extension() == ".md") out.push_back("docs/" + entry.path().filename().string());
  std::sort(out.begin() + 1, out.end());
  return out;
}

// Checks each example block of one page against its region and counts it in `shown`.
void check_blocks(const std::string& root, const std::string& page, regions_by_file& regions,
                  std::map<std::string, int>& shown) {
  static const std::regex marker(R"(^<!-- example: (\S+) ([a-z_]+) -->$)");
  auto lines = lines_of(root + "/" + page);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, marker)) continue;
    std::string file = m[1], name = m[2];
    BOOST_TEST_CONTEXT(page << " line " << i + 1 << ": " << file << " " << name) {
      BOOST_REQUIRE(i + 1 < lines.size());
      BOOST_REQUIRE_EQUAL(lines[i + 1], "```cpp");
      std::vector<std::string> block;
      std::size_t j = i + 2;
      for (; j < lines.size() && lines[j] != "```"; ++j) block.push_back(lines[j]);
      BOOST_REQUIRE(j < lines.size());
      BOOST_REQUIRE_MESSAGE(regions[file].count(name), "no region " << name << " in " << file);
      BOOST_TEST(joined(block) == regions[file][name]);
      ++shown[file + " " + name];
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_code_block_of_the_readme_and_docs_is_a_region_of_an_example_that_ci_builds_and_runs) {
  const std::string root = GROVE_SOURCE_DIR;
  regions_by_file regions;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root + "/examples"))
    if (entry.path().extension() == ".cpp")
      regions[std::filesystem::relative(entry.path(), root).generic_string()] = regions_of(entry.path().string());
  std::map<std::string, int> shown;
  auto all_pages = pages(root);
  for (const auto& page : all_pages) check_blocks(root, page, regions, shown);
  for (const auto& [file, by_name] : regions)
    for (const auto& [name, text] : by_name)
      BOOST_TEST(shown[file + " " + name] == 1, file << " region " << name << " shown once in README.md and docs/");
  BOOST_TEST(all_pages.size() >= 2u);  // the README and at least one page of docs/ were read
  BOOST_TEST(shown.size() >= 12u);     // every region of today's examples
}
