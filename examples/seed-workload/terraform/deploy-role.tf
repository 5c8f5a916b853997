# The role this environment's deploy jobs assume with aws-auth: trusted only for GitHub
# OIDC tokens of jobs bound to the GitHub Environment `github_environment` of
# `github_repository` (the token's sub is repo:OWNER/REPO:environment:NAME), allowed only
# what ecs-deploy needs on this stack (docs/actions/ecs-deploy.md, IAM permissions).
# Created when github_repository and github_oidc_provider_arn are set.

locals {
  deploy_role = var.github_repository != "" && var.github_oidc_provider_arn != ""
  oidc_host   = element(split("oidc-provider/", var.github_oidc_provider_arn), 1)
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "deploy_trust" {
  count = local.deploy_role ? 1 : 0
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.github_oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  count                = local.deploy_role ? 1 : 0
  name                 = "${var.name}-deploy"
  description          = "GitHub Actions deploys to ${var.github_environment} (${var.github_repository})"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust[0].json
  max_session_duration = 3600

  # Its inline policy is aws_iam_role_policy.deploy's; the role reads it back too.
  lifecycle {
    ignore_changes = [inline_policy]
  }
}

data "aws_iam_policy_document" "deploy" {
  count = local.deploy_role ? 1 : 0
  statement {
    sid = "Services"
    actions = [
      "ecs:DescribeServices", "ecs:UpdateService", "ecs:ListTagsForResource", "ecs:TagResource", "ecs:UntagResource",
      "ecs:DescribeTaskSets", "ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:UpdateServicePrimaryTaskSet",
    ]
    resources = [
      "arn:aws:ecs:${var.region}:${data.aws_caller_identity.current.account_id}:service/${var.name}/*",
      "arn:aws:ecs:${var.region}:${data.aws_caller_identity.current.account_id}:task-set/${var.name}/*",
    ]
  }
  statement {
    sid       = "Tasks"
    actions   = ["ecs:ListTasks", "ecs:DescribeTasks"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }
  statement {
    sid       = "TaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:TagResource"]
    resources = ["*"]
  }
  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
  statement {
    sid = "ReadLoadBalancing"
    actions = [
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "ShiftWeights"
    actions   = ["elasticloadbalancing:ModifyListener"]
    resources = [aws_lb_listener.http.arn]
  }
  statement {
    sid       = "Analysis"
    actions   = ["cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  count  = local.deploy_role ? 1 : 0
  name   = "ecs-deploy"
  role   = aws_iam_role.deploy[0].id
  policy = data.aws_iam_policy_document.deploy[0].json
}
