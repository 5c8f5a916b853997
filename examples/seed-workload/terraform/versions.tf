terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
  # Partial configuration: pass bucket, key and region with -backend-config
  # (terraform-plan's backend-config input).
  backend "s3" {}
}

provider "aws" {
  region = var.region

  # While a rollout runs, ecs-deploy keeps its record in a tag of the service (and tags
  # the task definitions it registers): those tags are the deployments'. Without this, an
  # apply during a rollout would delete the record its crash recovery relies on.
  ignore_tags {
    key_prefixes = ["platform-actions:"]
  }
}
