variable "region" {
  description = "Region of the seed workload's clusters and of the ECR repository."
  type        = string
  default     = "eu-west-1"
}

variable "repository" {
  description = "The GitHub repository (OWNER/NAME) whose workflows deploy."
  type        = string
}

variable "environments" {
  description = "GitHub Environment → the name the seed workload's Terraform was applied with in it (its cluster, ALB and task execution role are named after it)."
  type        = map(string)
  default = {
    dev        = "webui-dev"
    staging    = "webui-staging"
    production = "webui"
  }
}

variable "services" {
  description = "The seed workload's services (their task definition families are NAME-SERVICE)."
  type        = list(string)
  default     = ["open-webui", "bedrock-access-gateway", "mcpo"]
}

variable "rollback_gate_suffix" {
  description = "rollback.yml binds its job to ENVIRONMENT plus this suffix (an environment without reviewers); the deploy role trusts that subject too. Empty: only the environment itself."
  type        = string
  default     = "-rollback"
}

variable "ecr_repository" {
  description = "ECR repository the image-push role may push to and scan."
  type        = string
  default     = "open-webui"
}

variable "ecr_pull_request_repository" {
  description = "Quarantine ECR repository the pull request role may push to and scan (build-and-scan's pull-request-image); nothing deploys from it. It must differ from ecr_repository."
  type        = string
  default     = "open-webui-pr"
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC identity provider; false uses the one that exists (an account has at most one per URL)."
  type        = bool
  default     = true
}

variable "oidc_issuer" {
  description = "The issuer of GitHub's OIDC tokens without https:// (the provider's URL and the prefix of the trust policies' condition keys): token.actions.githubusercontent.com, or token.actions.githubusercontent.com/ENTERPRISE for an enterprise with a custom issuer."
  type        = string
  default     = "token.actions.githubusercontent.com"
  validation {
    condition     = !can(regex("^[a-z]+://", var.oidc_issuer))
    error_message = "oidc_issuer is the issuer without its scheme: token.actions.githubusercontent.com, not https://token.actions.githubusercontent.com."
  }
}
