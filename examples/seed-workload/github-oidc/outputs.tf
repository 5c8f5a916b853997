output "oidc_provider_arn" {
  description = "The account's IAM OIDC identity provider for GitHub's tokens (created here, or the one that exists)."
  value       = local.provider_arn
}

output "image_push_role_arn" {
  value = aws_iam_role.image_push.arn
}

output "image_pr_push_role_arn" {
  description = "The role pull requests' builds assume: it writes the quarantine repository only."
  value       = aws_iam_role.image_pr_push.arn
}

output "deploy_role_arns" {
  description = "GitHub Environment → the role its deploy jobs assume."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "repository_variables" {
  description = "The repository variables the starter workflows read, with their values."
  value = merge(
    { IMAGE_PUSH_ROLE = aws_iam_role.image_push.arn, IMAGE_PR_PUSH_ROLE = aws_iam_role.image_pr_push.arn },
    { for env, role in aws_iam_role.deploy : "${upper(env)}_DEPLOY_ROLE" => role.arn },
  )
}

output "tag_guard_policy_arn" {
  description = "Denies writing platform-actions:* tags to every principal but the deploy roles: attach it to every other principal that may tag ECS resources (or copy its statement into an SCP)."
  value       = aws_iam_policy.platform_actions_tags.arn
}
