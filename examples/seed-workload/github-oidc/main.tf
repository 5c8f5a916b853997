# GitHub's OIDC identity provider, one image-push role, and one deploy role per
# environment whose trust policy admits only the jobs bound to that environment
# (and to its rollback gate). The roles carry what ecs-deploy and the rollback action
# need for the seed workload (their docs' IAM permissions, exactly): see
# docs/getting-started.md.

locals {
  # The provider's URL without https://, which is also the prefix of its condition keys.
  issuer = var.oidc_issuer
}

data "aws_caller_identity" "current" {}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_oidc_provider ? 1 : 0
  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1
  url   = "https://${local.issuer}"
}

locals {
  account      = data.aws_caller_identity.current.account_id
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
}

# --- Building and scanning the image: pushes of the default branch only. A pull request's
# run executes its author's code: it gets a role of its own below, which can write only the
# quarantine repository, never the repository (and build cache) production deploys from.

data "aws_iam_policy_document" "image_push_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = ["repo:${var.repository}:ref:refs/heads/main"]
    }
  }
}

resource "aws_iam_role" "image_push" {
  name               = "github-image-push"
  assume_role_policy = data.aws_iam_policy_document.image_push_trust.json
}

data "aws_iam_policy_document" "image_push" {
  statement {
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
      "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:DescribeImageScanFindings",
    ]
    resources = ["arn:aws:ecr:${var.region}:${local.account}:repository/${var.ecr_repository}"]
  }
}

resource "aws_iam_role_policy" "image_push" {
  name   = "image-push"
  role   = aws_iam_role.image_push.id
  policy = data.aws_iam_policy_document.image_push.json
}

# --- Pull requests: their own role, which pushes to and scans the quarantine repository only.

data "aws_iam_policy_document" "image_pr_push_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = ["repo:${var.repository}:pull_request"]
    }
  }
}

resource "aws_iam_role" "image_pr_push" {
  name               = "github-image-pr-push"
  assume_role_policy = data.aws_iam_policy_document.image_pr_push_trust.json
}

data "aws_iam_policy_document" "image_pr_push" {
  statement {
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
      "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages", "ecr:DescribeImageScanFindings",
    ]
    resources = ["arn:aws:ecr:${var.region}:${local.account}:repository/${var.ecr_pull_request_repository}"]
  }
}

resource "aws_iam_role_policy" "image_pr_push" {
  name   = "image-pr-push"
  role   = aws_iam_role.image_pr_push.id
  policy = data.aws_iam_policy_document.image_pr_push.json
}

# --- Deploying: one role per environment, trusted by that environment's jobs only.

data "aws_iam_policy_document" "deploy_trust" {
  for_each = var.environments
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values = compact([
        "repo:${var.repository}:environment:${each.key}",
        var.rollback_gate_suffix == "" ? "" : "repo:${var.repository}:environment:${each.key}${var.rollback_gate_suffix}",
      ])
    }
  }
}

resource "aws_iam_role" "deploy" {
  for_each             = var.environments
  name                 = "github-deploy-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust[each.key].json
  max_session_duration = 7200
}

data "aws_iam_policy_document" "deploy" {
  for_each = var.environments
  # Reading services, task sets, task definitions, service deployments, the load
  # balancer, metrics and alarms (ELB's and CloudWatch's reads, ListTaskDefinitions and
  # DescribeTaskDefinition have no resource-level permissions).
  statement {
    sid = "Read"
    actions = [
      "ecs:DescribeServices", "ecs:DescribeTaskSets", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions",
      "ecs:ListTagsForResource", "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeLoadBalancers",
      "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms",
    ]
    resources = ["*"]
  }
  # Why tasks stopped: this environment's cluster only. ListTasks is narrowed by its
  # ecs:cluster condition key; DescribeTasks by the task ARN, which names the cluster.
  statement {
    sid       = "ListTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = ["arn:aws:ecs:${var.region}:${local.account}:cluster/${each.value}"]
    }
  }
  statement {
    sid       = "DescribeTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = ["arn:aws:ecs:${var.region}:${local.account}:task/${each.value}/*"]
  }
  # RegisterTaskDefinition has no resource-level permissions; the tags it registers with
  # are authorized as ecs:TagResource on the new revision (below).
  statement {
    sid       = "RegisterTaskDefinition"
    actions   = ["ecs:RegisterTaskDefinition"]
    resources = ["*"]
  }
  # Changing: this environment's services, task sets, service deployments and task
  # definition families only.
  statement {
    sid = "Change"
    actions = [
      "ecs:UpdateService", "ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:UpdateServicePrimaryTaskSet",
      "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment", "ecs:TagResource", "ecs:UntagResource",
    ]
    resources = concat(
      [
        "arn:aws:ecs:${var.region}:${local.account}:service/${each.value}/*",
        "arn:aws:ecs:${var.region}:${local.account}:task-set/${each.value}/*",
        "arn:aws:ecs:${var.region}:${local.account}:service-deployment/${each.value}/*",
      ],
      [for s in var.services : "arn:aws:ecs:${var.region}:${local.account}:task-definition/${each.value}-${s}:*"],
    )
  }
  # pre-deploy (a migration as a one-off task of the new revision): run and stop tasks in
  # this environment's cluster only, and read their awslogs stream.
  statement {
    sid       = "PreDeployTask"
    actions   = ["ecs:RunTask"]
    resources = [for s in var.services : "arn:aws:ecs:${var.region}:${local.account}:task-definition/${each.value}-${s}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = ["arn:aws:ecs:${var.region}:${local.account}:cluster/${each.value}"]
    }
  }
  statement {
    sid       = "StopPreDeployTask"
    actions   = ["ecs:StopTask"]
    resources = ["arn:aws:ecs:${var.region}:${local.account}:task/${each.value}/*"]
  }
  statement {
    sid       = "PreDeployLogs"
    actions   = ["logs:GetLogEvents"]
    # The seed workload's services log to /ecs/<name> (terraform/ecs.tf).
    resources = ["arn:aws:logs:${var.region}:${local.account}:log-group:/ecs/${each.value}:log-stream:*"]
  }
  # Traffic weights (task sets): this environment's load balancer only.
  statement {
    sid     = "ShiftWeights"
    actions = ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"]
    resources = [
      "arn:aws:elasticloadbalancing:${var.region}:${local.account}:listener/app/${each.value}/*",
      "arn:aws:elasticloadbalancing:${var.region}:${local.account}:listener-rule/app/${each.value}/*",
    ]
  }
  # Smoke checks (task sets): a header-matched test rule on this environment's load
  # balancer, created before the first weight and deleted after the checks. CreateRule is
  # authorised on the listener, DeleteRule on the rule.
  statement {
    sid     = "SmokeRule"
    actions = ["elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"]
    resources = [
      "arn:aws:elasticloadbalancing:${var.region}:${local.account}:listener/app/${each.value}/*",
      "arn:aws:elasticloadbalancing:${var.region}:${local.account}:listener-rule/app/${each.value}/*",
    ]
  }
  # The new task definition keeps the environment's execution role (the seed workload's
  # task definitions have no task role).
  statement {
    sid       = "PassExecutionRole"
    actions   = ["iam:PassRole"]
    resources = ["arn:aws:iam::${local.account}:role/${each.value}-task-execution"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "deploy" {
  for_each = var.environments
  name     = "deploy"
  role     = aws_iam_role.deploy[each.key].id
  policy   = data.aws_iam_policy_document.deploy[each.key].json
}

# --- The rollout record and the last-good list are instructions: only the deploy roles write them.
#
# ecs-deploy and the rollback action act on tags whose keys start with platform-actions:
# (the rollout record on the service, the last-good list, the served / rolled-back marks on
# task definitions). Anyone else who can tag the service could steer the next rollback.
# This policy denies ecs:TagResource / ecs:UntagResource with such keys to every principal
# but the deploy roles. It is attached to the image-push roles here; attach it to every other
# role, user and group that has ecs:TagResource, or put the same statement in a service
# control policy for the account (docs/actions/rollback.md#who-may-write-the-records).

data "aws_iam_policy_document" "platform_actions_tags" {
  statement {
    sid       = "OnlyDeployRolesWritePlatformActionsTags"
    effect    = "Deny"
    actions   = ["ecs:TagResource", "ecs:UntagResource"]
    resources = ["*"]
    condition {
      test     = "ForAnyValue:StringLike"
      variable = "aws:TagKeys"
      values   = ["platform-actions:*"]
    }
    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = [for role in aws_iam_role.deploy : role.arn]
    }
  }
}

resource "aws_iam_policy" "platform_actions_tags" {
  name        = "platform-actions-tags-deploy-roles-only"
  description = "Deny writing platform-actions:* tags on ECS resources to every principal but the deploy roles."
  policy      = data.aws_iam_policy_document.platform_actions_tags.json
}

resource "aws_iam_role_policy_attachment" "image_push_tags" {
  role       = aws_iam_role.image_push.name
  policy_arn = aws_iam_policy.platform_actions_tags.arn
}

resource "aws_iam_role_policy_attachment" "image_pr_push_tags" {
  role       = aws_iam_role.image_pr_push.name
  policy_arn = aws_iam_policy.platform_actions_tags.arn
}
