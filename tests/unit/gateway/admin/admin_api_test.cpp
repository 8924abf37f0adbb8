#include "gateway/admin/admin_api.h"

#include <gtest/gtest.h>

#include "gateway/listen/http_types.h"

namespace helsebro::admin {
namespace {

listen::HttpRequest with_authorization(std::string value) {
  listen::HttpRequest request;
  request.headers["authorization"] = std::move(value);
  return request;
}

TEST(AdminAuthorization, TakesTheBearerSchemeInAnyCaseAndOnlyTheExactToken) {
  const std::string token = "s3cret-token";
  EXPECT_TRUE(authorized(with_authorization("Bearer s3cret-token"), token));
  EXPECT_TRUE(authorized(with_authorization("bearer s3cret-token"), token));
  EXPECT_TRUE(authorized(with_authorization("BEARER s3cret-token"), token));
  EXPECT_FALSE(authorized(with_authorization("Bearer s3cret-tokeN"), token));
  EXPECT_FALSE(authorized(with_authorization("Bearer s3cret-token "), token));
  EXPECT_FALSE(authorized(with_authorization("Basic s3cret-token"), token));
  EXPECT_FALSE(authorized(with_authorization("Bearer"), token));
  EXPECT_FALSE(authorized(listen::HttpRequest{}, token));
  EXPECT_FALSE(authorized(with_authorization("Bearer "), ""));  // no token configured: the API is off
}

}  // namespace
}  // namespace helsebro::admin
