#include "capture/mapped_file.hpp"

#include "capture/test_util.hpp"

namespace picket::capture {
namespace {

TEST(MappedFile, MapsTheWholeFile) {
  testing::TempDir dir;
  const std::string path = dir.file("m.bin");
  const auto content = testing::frame(100'000, 3);
  testing::write_file(path, content);
  auto m = MappedFile::open(path);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->path(), path);
  EXPECT_EQ(std::vector<uint8_t>(m->bytes().begin(), m->bytes().end()), content);
  MappedFile moved = std::move(m).value();
  EXPECT_EQ(moved.size(), content.size());
  EXPECT_EQ(moved.bytes()[99'999], content[99'999]);
}

TEST(MappedFile, EmptyFileIsAnEmptySpan) {
  testing::TempDir dir;
  const std::string path = dir.file("e.bin");
  testing::write_file(path, {});
  auto m = MappedFile::open(path);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->bytes().empty());
}

TEST(MappedFile, ErrorsNameTheFile) {
  testing::TempDir dir;
  const std::string missing = dir.file("nope");
  auto m = MappedFile::open(missing);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, missing + ": cannot open: No such file or directory");
  const std::string d = dir.file("");
  auto n = MappedFile::open(d);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message, d + ": is a directory");
  auto dev = MappedFile::open("/dev/null");
  ASSERT_FALSE(dev);
  EXPECT_EQ(dev.error().message, "/dev/null: not a regular file");
}

}  // namespace
}  // namespace picket::capture
