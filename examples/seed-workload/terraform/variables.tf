variable "region" {
  type    = string
  default = "us-east-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "seed"
}

variable "vpc_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "images" {
  description = "Container image of each service (pin by digest in production)."
  type        = map(string)
  default = {
    open-webui             = "ghcr.io/open-webui/open-webui:main"
    bedrock-access-gateway = "public.ecr.aws/aws-samples/bedrock-access-gateway:latest"
    mcpo                   = "ghcr.io/open-webui/mcpo:main"
  }
}

variable "desired_count" {
  type    = number
  default = 2
}
